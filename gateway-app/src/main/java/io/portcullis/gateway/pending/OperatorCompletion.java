package io.portcullis.gateway.pending;

import io.portcullis.core.Completion;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectId;
import io.portcullis.core.Listener;
import io.portcullis.gateway.Gateway;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * An operator's completion of a pended inspection of this replica, {@code POST /admin/pending/{id}}: asked here, or
 * relayed from another replica of the cluster; either way the completion is {@code decidedBy: operator} and the
 * answer the same. Nothing here blocks: completing only hands the action to the connection's event loop. Any thread
 * but an event loop.
 */
public final class OperatorCompletion {

    /** {@code decidedBy} of the audit line. */
    public static final String OPERATOR = "operator";

    /**
     * What the endpoint answers.
     *
     * @param status the HTTP status: 200, 400 (bad id, body or action), 404 (ended or never there), 422 (a route
     *               the listener does not have)
     * @param body   the JSON object: {@code id, listener, action[, route]} with 200, else {@code error}
     */
    public record Result(int status, Map<String, Object> body) {

        public Result {
            body = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(body));
        }

        static Result error(int status, String message) {
            return new Result(status, Map.of("error", message));
        }

        /** This answer with {@code key} added to its body (kept in the body's order: the key goes last). */
        public Result with(String key, Object value) {
            Map<String, Object> more = new LinkedHashMap<>(body);
            more.put(key, value);
            return new Result(status, more);
        }
    }

    /** A checked request: what to do with which id. */
    public record Request(InspectId id, InspectAction action, Optional<String> route) {
    }

    private final Gateway gateway;

    public OperatorCompletion(Gateway gateway) {
        this.gateway = Objects.requireNonNull(gateway, "gateway");
    }

    /**
     * Checks a request as the endpoint receives it.
     *
     * @param id     the path's id
     * @param action the body's action; null when there is no body or no action
     * @param route  the body's route, if any
     * @return the request, or the 400 to answer
     */
    public static Outcome check(String id, String action, String route) {
        InspectId inspectId;
        try {
            inspectId = InspectId.parse(id);
        } catch (IllegalArgumentException e) {
            return new Outcome(Optional.empty(), Optional.of(Result.error(400, e.getMessage())));
        }
        if (action == null) {
            return refused("expected a body {\"action\": \"accept\"|\"reject\"}");
        }
        InspectAction decided = switch (action) {
            case "accept" -> InspectAction.ACCEPT;
            case "reject" -> InspectAction.REJECT;
            default -> null;
        };
        if (decided == null) {
            return refused("unknown action '" + action + "' (expected accept or reject)");
        }
        if (route != null && decided != InspectAction.ACCEPT) {
            return refused("\"route\" goes with \"action\": \"accept\" only: a rejected connection goes nowhere");
        }
        return new Outcome(Optional.of(new Request(inspectId, decided, Optional.ofNullable(route))), Optional.empty());
    }

    private static Outcome refused(String message) {
        return new Outcome(Optional.empty(), Optional.of(Result.error(400, message)));
    }

    /** A request, or the answer that refuses it. */
    public record Outcome(Optional<Request> request, Optional<Result> refusal) {
    }

    /** Checks and completes: what {@code POST /admin/pending/{id}} answers on the replica that holds the id. */
    public Result complete(String id, String action, String route) {
        Outcome checked = check(id, action, route);
        return checked.refusal().orElseGet(() -> complete(checked.request().get()));
    }

    /** Completes a checked request on whichever listener holds its id. */
    public Result complete(Request request) {
        String route = request.route().orElse(null);
        for (Listener listener : gateway.listeners()) {
            if (route != null && listener.isPending(request.id())) {
                Set<String> routes = gateway.routes(listener.name());
                if (!routes.contains(route)) {
                    return Result.error(422, "route '" + route + "' is not a backend pool of listener '"
                            + listener.name() + "' (its pools: " + String.join(", ", new TreeSet<>(routes)) + ")");
                }
            }
            if (listener.inspectComplete(request.id(), request.action(), Completion.by(OPERATOR).withRoute(route))) {
                Map<String, Object> ok = new LinkedHashMap<>();
                ok.put("id", request.id().toString());
                ok.put("listener", listener.name());
                ok.put("action", request.action().label());
                if (route != null) {
                    ok.put("route", route);
                }
                return new Result(200, ok);
            }
        }
        return Result.error(404, "no pended inspection " + request.id() + " (it has ended or never existed)");
    }
}
