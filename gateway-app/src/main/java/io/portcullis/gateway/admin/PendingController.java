package io.portcullis.gateway.admin;

import io.portcullis.gateway.Gateway;
import io.portcullis.core.Completion;
import io.portcullis.core.Listener;
import io.portcullis.core.PendingInspection;
import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.springframework.context.annotation.Conditional;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Operators see and complete pended inspections: {@code GET /admin/pending},
 * {@code POST /admin/pending/{id}} with {@code {"action":"accept"|"reject"}} and, to accept into a named backend
 * pool of its listener, {@code "route":"NAME"} (404 once it has ended; 422 for a route the listener does not have).
 * Nothing here blocks: completion only hands the action to the connection's event loop.
 */
@RestController
@Conditional(AdminApiCondition.class)
@RequestMapping(AdminTokenFilter.PREFIX + "/pending")
public class PendingController {

    private final Gateway gateway;

    public PendingController(Gateway gateway) {
        this.gateway = gateway;
    }

    @GetMapping
    public List<Map<String, Object>> pending() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Listener listener : gateway.listeners()) {
            for (PendingInspection p : listener.pending()) {
                Map<String, Object> item = new LinkedHashMap<>();
                item.put("id", p.request().id().toString());
                item.put("listener", p.request().listener());
                item.put("source", p.request().source().getAddress().getHostAddress() + ":" + p.request().source().getPort());
                item.put("peer", p.request().peer().getAddress().getHostAddress() + ":" + p.request().peer().getPort());
                item.put("rule", p.rule());
                item.put("ageMillis", p.age().toMillis());
                item.put("heldBytes", p.heldBytes());
                item.put("halfClosed", p.inputShut());
                p.route().ifPresent(route -> item.put("route", route));
                out.add(item);
            }
        }
        out.sort(Comparator.comparingLong(m -> -((Long) m.get("ageMillis"))));
        return out;
    }

    /** The body of a completion. */
    public record CompleteRequest(String action, String route) {
    }

    @PostMapping("/{id}")
    public ResponseEntity<Map<String, Object>> complete(@PathVariable("id") String id, @RequestBody(required = false) CompleteRequest body) {
        InspectId inspectId;
        try {
            inspectId = InspectId.parse(id);
        } catch (IllegalArgumentException e) {
            return error(HttpStatus.BAD_REQUEST, e.getMessage());
        }
        if (body == null || body.action() == null) {
            return error(HttpStatus.BAD_REQUEST, "expected a body {\"action\": \"accept\"|\"reject\"}");
        }
        InspectAction action = switch (body.action()) {
            case "accept" -> InspectAction.ACCEPT;
            case "reject" -> InspectAction.REJECT;
            default -> null;
        };
        if (action == null) {
            return error(HttpStatus.BAD_REQUEST, "unknown action '" + body.action() + "' (expected accept or reject)");
        }
        String route = body.route();
        if (route != null && action != InspectAction.ACCEPT) {
            return error(HttpStatus.BAD_REQUEST, "\"route\" goes with \"action\": \"accept\" only: a rejected connection goes nowhere");
        }
        for (Listener listener : gateway.listeners()) {
            if (route != null && listener.isPending(inspectId)) {
                Set<String> routes = gateway.routes(listener.name());
                if (!routes.contains(route)) {
                    return error(HttpStatus.UNPROCESSABLE_CONTENT, "route '" + route + "' is not a backend pool of listener '"
                            + listener.name() + "' (its pools: " + String.join(", ", new TreeSet<>(routes)) + ")");
                }
            }
            if (listener.inspectComplete(inspectId, action, Completion.by("operator").withRoute(route))) {
                Map<String, Object> ok = new LinkedHashMap<>();
                ok.put("id", id);
                ok.put("listener", listener.name());
                ok.put("action", action.label());
                if (route != null) {
                    ok.put("route", route);
                }
                return ResponseEntity.ok(ok);
            }
        }
        return error(HttpStatus.NOT_FOUND, "no pended inspection " + id + " (it has ended or never existed)");
    }

    static ResponseEntity<Map<String, Object>> error(HttpStatus status, String message) {
        return ResponseEntity.status(status).body(Map.of("error", message));
    }
}
