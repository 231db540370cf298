package io.portcullis.gateway.policy;

import io.portcullis.core.InspectRequest;
import io.portcullis.core.Listener;
import io.portcullis.core.SourceFilter;
import io.portcullis.core.SourceFilterState;
import io.portcullis.core.relay.RelayAcceptHandler;
import io.portcullis.core.relay.RelayAcceptHandler.Recheck;
import io.portcullis.policy.EarlyRejectPlan;
import io.portcullis.policy.ListenerPolicy;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.policy.net.CidrSet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy enforced outside an inspection: in the kernel before the handshake ({@code early-reject: kernel}: the
 * leading source-only reject rules as a socket filter on the listening socket) and on live relays after a reload
 * ({@code recheck-on-reload}: each relayed connection judged again by the rules that decide locally).
 *
 * <p>Both follow the policy in force: at start for each listener, and after every reload. Every rule stays in user
 * space too, so a filter that cannot be attached costs only the handshake it would have spared. Any thread but
 * an event loop.
 */
public final class LiveEnforcement {

    private static final Logger log = LoggerFactory.getLogger(LiveEnforcement.class);

    /** What a recheck does with a connection the policy now rejects. */
    public enum RecheckMode {
        /** No recheck. */
        OFF,
        /** Reset it (both sides), counted and audited. */
        CLOSE,
        /** Audit that it would be closed; leave it. */
        LOG;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * A listener's early reject as it stands.
     *
     * @param rules     the rules in the kernel's filter
     * @param userSpace what stays in user space only, and why
     * @param filter    what the kernel holds
     */
    public record EarlyReject(List<String> rules, List<String> userSpace, SourceFilterState filter) {
    }

    /** Told what the enforcement does, for meters and the audit log. */
    public interface Observer {
        /** {@code ranges} reads the IPv4 ranges in the kernel filter of {@code listener}, from now on. */
        void earlyRejectRanges(String listener, IntSupplier ranges);

        /**
         * A live connection the policy rejects now: reset ({@code reset}) or only reported. On its event loop.
         *
         * @param request the connection's inspection
         * @param rule    the rule that rejects it
         */
        void rechecked(InspectRequest request, String rule, boolean reset);
    }

    private record Entry(Listener listener, RelayAcceptHandler relay, boolean earlyReject, RecheckMode recheck) {
    }

    private final PolicyEngine engine;
    private final Observer meters;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final Map<String, EarlyReject> earlyRejects = new ConcurrentHashMap<>();

    public LiveEnforcement(PolicyEngine engine, Observer meters) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.meters = Objects.requireNonNull(meters, "meters");
    }

    /** A listener that started: its filter from the policy in force now. */
    public synchronized void add(Listener listener, RelayAcceptHandler relay, boolean earlyReject, RecheckMode recheck) {
        Entry entry = new Entry(listener, relay, earlyReject, recheck);
        entries.put(listener.name(), entry);
        if (earlyReject) {
            meters.earlyRejectRanges(listener.name(), () -> listener.sourceFilterState().ranges());
            filter(entry, engine.current());
        }
    }

    /** The listeners stopped: nothing to enforce any more. */
    public synchronized void clear() {
        entries.clear();
        earlyRejects.clear();
    }

    /**
     * {@code next} is in force: each early-reject filter compiled from it and swapped in (logged when it changed),
     * and a recheck of the live relays of each listener that asks for one (asynchronous: this returns once every
     * event loop has its first batch).
     */
    public synchronized void policyReplaced(Policy next) {
        for (Entry entry : entries.values()) {
            if (entry.earlyReject()) {
                filter(entry, next);
            }
            if (entry.recheck() != RecheckMode.OFF) {
                recheck(entry, entry.recheck(), "reload");
            }
        }
    }

    /**
     * Rechecks the live relays of the listeners {@code names} (all when empty) now, whatever their
     * {@code recheck-on-reload}.
     *
     * @return by listener, what was checked and rejected; completes when every loop is through
     */
    public CompletableFuture<Map<String, Recheck>> recheck(Optional<String> name, RecheckMode mode) {
        Map<String, CompletableFuture<Recheck>> runs = new LinkedHashMap<>();
        for (Entry entry : List.copyOf(entries.values())) {
            if (name.isEmpty() || name.get().equals(entry.listener().name())) {
                runs.put(entry.listener().name(), recheck(entry, mode, "admin"));
            }
        }
        return CompletableFuture.allOf(runs.values().toArray(new CompletableFuture<?>[0])).thenApply(v -> {
            Map<String, Recheck> out = new LinkedHashMap<>();
            runs.forEach((listener, run) -> out.put(listener, run.join()));
            return out;
        });
    }

    /** Whether a listener of that name runs here. */
    public boolean knows(String listener) {
        return entries.containsKey(listener);
    }

    /** The {@code recheck-on-reload} of a listener; off for one not registered. */
    public RecheckMode recheckMode(String listener) {
        Entry entry = entries.get(listener);
        return entry == null ? RecheckMode.OFF : entry.recheck();
    }

    /** The early reject of a listener with {@code early-reject: kernel}; empty for the others. */
    public Optional<EarlyReject> earlyReject(String listener) {
        return Optional.ofNullable(earlyRejects.get(listener));
    }

    private CompletableFuture<Recheck> recheck(Entry entry, RecheckMode mode, String why) {
        String listener = entry.listener().name();
        boolean close = mode == RecheckMode.CLOSE;
        Function<InspectRequest, String> judge = request ->
                engine.recheck(PolicyInspectHandler.toPolicy(request)).orElse(null);
        return entry.relay().recheck(judge, close, meters::rechecked).whenComplete((result, failure) -> {
            if (failure != null) {
                log.warn("Listener '{}': recheck ({}) failed", listener, why, failure);
            } else if (result.rejected() > 0 || why.equals("admin")) {
                log.info("Listener '{}': recheck ({}, {}): {} live connection(s) judged, {} {}", listener, why,
                        mode.label(), result.checked(), result.rejected(), close ? "reset" : "would be reset");
            }
        });
    }

    private void filter(Entry entry, Policy policy) {
        String name = entry.listener().name();
        EarlyRejectPlan plan = policy.listener(name).map(ListenerPolicy::earlyRejectPlan).orElse(EarlyRejectPlan.NONE);
        CidrSet ipv4 = plan.ipv4();
        int[] first = new int[ipv4.ipv4RangeCount()];
        int[] last = new int[first.length];
        for (int i = 0; i < first.length; i++) {
            first[i] = ipv4.ipv4First(i);
            last[i] = ipv4.ipv4Last(i);
        }
        SourceFilterState state = entry.listener().filterSources(SourceFilter.ofIpv4Ranges(first, last));
        List<String> userSpace = new ArrayList<>(plan.userSpace());
        if (state.attached() && state.ranges() < state.rangesAsked()) {
            userSpace.add(0, (state.rangesAsked() - state.ranges()) + " of the " + state.rangesAsked()
                    + " IPv4 ranges (the narrowest): past the kernel's " + SourceFilter.MAX_INSTRUCTIONS + " instructions");
        }
        EarlyReject now = new EarlyReject(plan.rules(), userSpace, state);
        EarlyReject before = earlyRejects.put(name, now);
        if (now.equals(before)) {
            return;
        }
        if (state.problem().isPresent()) {
            log.warn("Listener '{}': early-reject: kernel is not in force: {}; the rules reject those sources after "
                    + "the handshake", name, state.problem().get());
        } else if (plan.rules().isEmpty()) {
            log.info("Listener '{}': early reject in the kernel: nothing to compile (no leading source-only reject "
                    + "rule){}", name, userSpace.isEmpty() ? "" : "; " + String.join("; ", userSpace));
        } else {
            log.info("Listener '{}': early reject in the kernel: {} IPv4 range(s) of rule(s) {} ({} instructions); "
                    + "in user space only: {}", name, state.ranges(), plan.rules(), state.instructions(),
                    userSpace.isEmpty() ? "nothing" : String.join("; ", userSpace));
        }
    }
}
