package io.portcullis.gateway.policy;

import io.portcullis.gateway.decision.DecisionNameCheck;
import io.portcullis.policy.ListenerPolicy;
import io.portcullis.policy.Policy;
import io.portcullis.policy.limit.LimitSettings;
import io.portcullis.policy.limit.Limiter;
import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.Rule;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * What the gateway checks of a policy that parsed, at start, on every reload and in {@code validate} alike:
 * a section for every inspecting listener, no condition on what a TLS peek finds ({@code sni}, {@code alpn},
 * {@code tls-fingerprint}) in the rules of a listener that does not peek, no condition on what a PROXY-protocol
 * header carries ({@code pp-authority}, {@code pp-tlv}) in the rules of a listener that reads none, a backend
 * pool of the listener for every {@code route} a rule names, a configured service for every decision a pend
 * rule names, and a configured cluster store ({@code portcullis.cluster.redis.url}) for every {@code scope: cluster}
 * limiter. Immutable; any thread.
 */
public final class PolicyChecks {

    /** What to do about a TLS condition on a listener that does not peek. */
    static final String TLS_HINT = "set peek.tls: true on the listener, or remove the rule or its condition";

    /** What to do about a PROXY-header condition on a listener that reads no header. */
    static final String PROXY_HINT = "set proxy-protocol.accept (and trusted) on the listener, or remove the rule or "
            + "its condition";

    /**
     * What a policy must fit about one configured listener.
     *
     * @param name     the listener's name, its section in rules.yaml
     * @param inspects conditional accept on: its section is required and its rules run
     * @param peeksTls it reads the TLS ClientHello before inspecting, so sni, alpn and tls-fingerprint are known
     * @param readsProxyHeader it reads a PROXY-protocol header before inspecting, so pp-authority and pp-tlv
     *                         are known
     * @param routes   the names a rule's route may use: {@code default} (its own backends) and its named pools
     */
    public record ListenerFacts(String name, boolean inspects, boolean peeksTls, boolean readsProxyHeader,
                                Set<String> routes) {

        public ListenerFacts {
            Objects.requireNonNull(name, "name");
            routes = Set.copyOf(routes);
        }

        /** A listener with only its own backends (route {@code default}). */
        public ListenerFacts(String name, boolean inspects, boolean peeksTls, boolean readsProxyHeader) {
            this(name, inspects, peeksTls, readsProxyHeader, Set.of(DEFAULT_ROUTE));
        }

        /** A listener that reads no PROXY-protocol header. */
        public ListenerFacts(String name, boolean inspects, boolean peeksTls, Set<String> routes) {
            this(name, inspects, peeksTls, false, routes);
        }

        /** A listener with no named pool. */
        public ListenerFacts(String name, boolean inspects, boolean peeksTls) {
            this(name, inspects, peeksTls, Set.of(DEFAULT_ROUTE));
        }
    }

    /** What a route calls a listener's own backends. */
    public static final String DEFAULT_ROUTE = "default";

    /** The key whose absence makes a {@code scope: cluster} limiter an error. */
    public static final String CLUSTER_URL_KEY = "portcullis.cluster.redis.url";

    private final List<ListenerFacts> listeners;
    private final boolean standalone;
    private final DecisionNameCheck decisionNames;
    private final boolean clusterStore;

    private PolicyChecks(List<ListenerFacts> listeners, boolean standalone, DecisionNameCheck decisionNames,
                         boolean clusterStore) {
        this.listeners = List.copyOf(listeners);
        this.standalone = standalone;
        this.decisionNames = Objects.requireNonNull(decisionNames, "decisionNames");
        this.clusterStore = clusterStore;
    }

    /** The checks against the configured listeners and decision services, without a cluster store. */
    public static PolicyChecks of(Collection<ListenerFacts> listeners, DecisionNameCheck decisionNames) {
        return of(listeners, decisionNames, false);
    }

    /**
     * The checks against the configured listeners, decision services and cluster store.
     *
     * @param clusterStore whether {@value #CLUSTER_URL_KEY} is set: without it a {@code scope: cluster} limiter,
     *                     shadow ones too, is refused
     */
    public static PolicyChecks of(Collection<ListenerFacts> listeners, DecisionNameCheck decisionNames,
                                  boolean clusterStore) {
        return new PolicyChecks(List.copyOf(listeners), false, decisionNames, clusterStore);
    }

    /**
     * The checks of a file read without a configuration: each of its sections stands for an inspecting listener
     * that may peek at TLS and read PROXY headers (the configuration says whether it does); listener coverage,
     * decision names and the cluster store of {@code scope: cluster} limiters are not checked.
     */
    public static PolicyChecks standalone() {
        return new PolicyChecks(List.of(), true, DecisionNameCheck.none(), true);
    }

    /** Whether these checks know no configuration (see {@link #standalone()}). */
    public boolean isStandalone() {
        return standalone;
    }

    /** Names of the listeners that need a section, in configuration order. */
    public List<String> inspecting() {
        return listeners.stream().filter(ListenerFacts::inspects).map(ListenerFacts::name).toList();
    }

    /** The problems, one line each, file:line:column first where known; empty when the policy can be put in force. */
    public List<String> problems(Policy policy) {
        List<String> problems = new ArrayList<>();
        List<String> missing = inspecting().stream().filter(name -> policy.listener(name).isEmpty()).toList();
        if (!missing.isEmpty()) {
            problems.add(policy.source() + ": no rules for listener(s) " + missing
                    + " which have conditional-accept: true (the file has: " + new TreeSet<>(policy.listenerNames()) + ")");
        }
        for (String name : policy.listenerNames()) {
            Optional<ListenerFacts> listener = standalone ? Optional.of(new ListenerFacts(name, true, true, true, Set.of()))
                    : listeners.stream().filter(l -> l.name().equals(name)).findFirst();
            // A section of a listener that is not configured, or does not inspect, is never evaluated.
            if (listener.isPresent() && listener.get().inspects()) {
                ListenerPolicy section = policy.listener(name).orElseThrow();
                for (Rule rule : section.rules()) {
                    if (!listener.get().peeksTls() && rule.needsTlsPeek()) {
                        problems.add(unknownHere(policy, name, rule, Match::needsTlsPeek, "does not peek at TLS",
                                TLS_HINT));
                    }
                    if (!listener.get().readsProxyHeader() && rule.needsProxyHeader()) {
                        problems.add(unknownHere(policy, name, rule, Match::needsProxyHeader,
                                "reads no PROXY-protocol header", PROXY_HINT));
                    }
                    Optional<String> route = rule.verdict().route();
                    // Standalone: the pools are configuration, which is not known here.
                    if (!standalone && route.isPresent() && !listener.get().routes().contains(route.get())) {
                        problems.add(routeProblem(policy, listener.get(), rule, route.get()));
                    }
                }
            }
        }
        problems.addAll(decisionNames.problems(policy));
        if (!clusterStore) {
            for (String name : policy.listenerNames()) {
                for (Rule rule : policy.listener(name).orElseThrow().rules()) {
                    rule.limiter().map(Limiter::settings).filter(LimitSettings::isCluster).ifPresent(settings ->
                            problems.add(position(policy, rule) + ": rule '" + rule.name() + "' of listener '" + name
                                    + "' has a " + settings.ruleKey() + " with scope: cluster, but no cluster store is"
                                    + " configured; set " + CLUSTER_URL_KEY + " (the Redis the replicas share), or use"
                                    + " scope: local"));
                }
            }
        }
        return problems;
    }

    /** A rule whose conditions {@code needs} picks cannot be known on {@code listener}, which {@code lacks} what. */
    private static String unknownHere(Policy policy, String listener, Rule rule, Predicate<Match> needs, String lacks,
                                      String hint) {
        List<String> keys = rule.matches().stream().filter(needs).map(Match::key).toList();
        boolean one = keys.size() == 1;
        return position(policy, rule) + ": rule '" + rule.name() + "' of listener '" + listener + "' matches on "
                + String.join(" and ", keys) + ", but listener '" + listener + "' " + lacks + ", so "
                + (one ? keys.get(0) + " is" : "they are") + " never known there; " + hint + (one ? "" : "s");
    }

    private static String routeProblem(Policy policy, ListenerFacts listener, Rule rule, String route) {
        List<String> named = new TreeSet<>(listener.routes()).stream().filter(r -> !r.equals(DEFAULT_ROUTE)).toList();
        return position(policy, rule) + ": rule '" + rule.name() + "' of listener '" + listener.name() + "' routes to pool '"
                + route + "', which listener '" + listener.name() + "' does not have (its pools: " + DEFAULT_ROUTE
                + (named.isEmpty() ? "" : ", " + String.join(", ", named)) + "); add it under portcullis.listeners[].pools"
                + " or fix the name";
    }

    private static String position(Policy policy, Rule rule) {
        if (rule.line() <= 0) {
            return policy.source();
        }
        return policy.source() + ":" + rule.line() + (rule.column() > 0 ? ":" + rule.column() : "");
    }
}
