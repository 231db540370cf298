package io.portcullis.gateway.admin;

import io.portcullis.gateway.Gateway;
import io.portcullis.gateway.cluster.ClusterPending;
import io.portcullis.gateway.cluster.StoreUnavailableException;
import io.portcullis.gateway.pending.OperatorCompletion;
import io.portcullis.gateway.pending.OperatorCompletion.Result;
import io.portcullis.gateway.pending.PendingEntry;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.context.annotation.Conditional;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Mono;

/**
 * Operators see and complete pended inspections: {@code GET /admin/pending},
 * {@code POST /admin/pending/{id}} with {@code {"action":"accept"|"reject"}} and, to accept into a named backend
 * pool of its listener, {@code "route":"NAME"} (404 once it has ended; 422 for a route the listener does not have).
 *
 * <p>In a cluster ({@code portcullis.cluster.redis.url} set): {@code GET /admin/pending?cluster=true} lists every
 * replica's, each entry with its {@code replica} (503 when Redis does not answer), and
 * {@code POST /admin/pending/{id}?replica=R} completes one that replica R holds, from any replica, through Redis
 * (504 when R does not answer in time). Without {@code replica} (or naming this one) a completion is local, as
 * without a cluster: ids are per replica.
 *
 * <p>Nothing here blocks: completion only hands the action to the connection's event loop, and Redis answers
 * asynchronously.
 */
@RestController
@Conditional(AdminApiCondition.class)
@RequestMapping(AdminTokenFilter.PREFIX + "/pending")
public class PendingController {

    private static final java.util.regex.Pattern REPLICA = java.util.regex.Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    private static final String NO_CLUSTER = "this replica is in no cluster: portcullis.cluster.redis.url is not set";

    private final Gateway gateway;
    private final OperatorCompletion completion;
    private final Optional<ClusterPending> cluster;

    public PendingController(Gateway gateway, Optional<ClusterPending> cluster) {
        this.gateway = gateway;
        this.completion = new OperatorCompletion(gateway);
        this.cluster = cluster;
    }

    @GetMapping
    public Mono<ResponseEntity<Object>> pending(@RequestParam(name = "cluster", defaultValue = "false") boolean all) {
        if (!all) {
            List<Map<String, Object>> out = PendingEntry.snapshot(gateway).stream().map(PendingEntry::toJson).toList();
            return Mono.just(ResponseEntity.ok(out));
        }
        if (cluster.isEmpty()) {
            return Mono.just(ResponseEntity.badRequest().body(Map.of("error", NO_CLUSTER)));
        }
        ClusterPending c = cluster.get();
        return Mono.fromFuture(c.view())
                .map(view -> ResponseEntity.ok((Object) view))
                .onErrorResume(StoreUnavailableException.class, e -> {
                    Map<String, Object> body = new LinkedHashMap<>();
                    body.put("error", "the cluster's Redis did not answer (" + e.getMessage() + "); GET /admin/pending "
                            + "without cluster=true lists this replica's");
                    body.put("replica", c.replicaId());
                    return Mono.just(ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).body((Object) body));
                });
    }

    /** The body of a completion. */
    public record CompleteRequest(String action, String route) {
    }

    @PostMapping("/{id}")
    public Mono<ResponseEntity<Map<String, Object>>> complete(@PathVariable("id") String id,
                                                              @RequestParam(name = "replica", required = false) String replica,
                                                              @RequestBody(required = false) CompleteRequest body) {
        String action = body == null ? null : body.action();
        String route = body == null ? null : body.route();
        boolean here = replica == null || cluster.map(c -> c.replicaId().equals(replica)).orElse(false);
        if (here) {
            return Mono.just(response(completion.complete(id, action, route)));
        }
        if (cluster.isEmpty()) {
            return Mono.just(response(new Result(400, Map.of("error", NO_CLUSTER + " (no replica to relay to)"))));
        }
        if (!REPLICA.matcher(replica).matches()) {
            return Mono.just(response(new Result(400, Map.of("error", "not a replica's name: 1 to 128 letters, digits,"
                    + " '.', '_', ':' or '-'"))));
        }
        OperatorCompletion.Outcome checked = OperatorCompletion.check(id, action, route);
        if (checked.refusal().isPresent()) {
            return Mono.just(response(checked.refusal().get()));
        }
        return Mono.fromFuture(cluster.get().complete(replica, checked.request().get())).map(PendingController::response);
    }

    private static ResponseEntity<Map<String, Object>> response(Result result) {
        return ResponseEntity.status(result.status()).body(result.body());
    }
}
