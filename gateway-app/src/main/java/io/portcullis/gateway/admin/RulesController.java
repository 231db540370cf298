package io.portcullis.gateway.admin;

import io.portcullis.gateway.config.PolicyWatch;
import io.portcullis.gateway.policy.PolicyReloader;
import io.portcullis.policy.ListenerPolicy;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyEngine;
import io.portcullis.gateway.policy.LiveEnforcement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.springframework.context.annotation.Conditional;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The policy: {@code GET /admin/rules} shows it, {@code POST /admin/rules/reload} reads the files now (422 with
 * the errors when they do not validate), {@code POST /admin/rules/recheck} judges the live connections again.
 */
@RestController
@Conditional(AdminApiCondition.class)
@RequestMapping(AdminTokenFilter.PREFIX + "/rules")
public class RulesController {

    /** How long {@code POST /admin/rules/recheck} waits for the event loops to get through their relays. */
    static final Duration RECHECK_WAIT = Duration.ofSeconds(30);

    private final Optional<PolicyReloader> reloader;
    private final PolicyEngine engine;
    private final LiveEnforcement enforcement;

    public RulesController(PolicyWatch watch, PolicyEngine engine, LiveEnforcement enforcement) {
        this.reloader = watch.reloader();
        this.engine = engine;
        this.enforcement = enforcement;
    }

    /**
     * {@code POST /admin/rules/recheck[?listener=NAME][&mode=close|log]}: judges every live relayed connection (of
     * one listener, or all) against the policy in force, as a reload with {@code recheck-on-reload} does; {@code
     * close} (the default) resets those rejected now, {@code log} only audits them. 200 with the counts by listener
     * once done; 404 for an unknown listener, 400 for another mode.
     */
    @PostMapping("/recheck")
    public Mono<ResponseEntity<Map<String, Object>>> recheck(@RequestParam Optional<String> listener,
                                                             @RequestParam Optional<String> mode) {
        String m = mode.orElse("close");
        if (!m.equals("close") && !m.equals("log")) {
            return Mono.just(ResponseEntity.badRequest().body(Map.of("error", "mode must be close or log")));
        }
        if (listener.isPresent() && !enforcement.knows(listener.get())) {
            return Mono.just(ResponseEntity.status(HttpStatus.NOT_FOUND).body(Map.of("error",
                    "no listener '" + listener.get() + "' with rules here (conditional-accept: true)")));
        }
        LiveEnforcement.RecheckMode recheckMode = m.equals("close") ? LiveEnforcement.RecheckMode.CLOSE
                : LiveEnforcement.RecheckMode.LOG;
        return Mono.fromFuture(enforcement.recheck(listener, recheckMode)).timeout(RECHECK_WAIT).map(results -> {
            Map<String, Object> byListener = new LinkedHashMap<>();
            results.forEach((name, r) -> {
                Map<String, Object> counts = new LinkedHashMap<>();
                counts.put("checked", r.checked());
                counts.put(recheckMode == LiveEnforcement.RecheckMode.CLOSE ? "closed" : "wouldClose", r.rejected());
                byListener.put(name, counts);
            });
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("mode", m);
            body.put("listeners", byListener);
            return ResponseEntity.ok(body);
        });
    }

    /** {@code GET /admin/rules}: the policy in force, by listener, rules in order. */
    @GetMapping
    public Map<String, Object> rules() {
        Policy policy = engine.current();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("source", policy.source());
        body.put("lists", policy.listNames());
        Map<String, Object> listeners = new LinkedHashMap<>();
        for (String name : new java.util.TreeSet<>(policy.listenerNames())) {
            ListenerPolicy lp = policy.listener(name).orElseThrow();
            listeners.put(name, Map.of("rules", lp.ruleNames(), "default", lp.defaultAction().label()));
        }
        body.put("listeners", listeners);
        return body;
    }

    @PostMapping("/reload")
    public Mono<ResponseEntity<Map<String, Object>>> reload() {
        if (reloader.isEmpty()) {
            return Mono.just(ResponseEntity.status(HttpStatus.CONFLICT).body(Map.of(
                    "result", "failure", "errors", java.util.List.of("the policy is not read from a file; nothing to reload"))));
        }
        // Reading files blocks: off the HTTP event loop.
        return Mono.fromCallable(() -> reloader.get().reload())
                .subscribeOn(Schedulers.boundedElastic())
                .map(RulesController::toResponse);
    }

    private static ResponseEntity<Map<String, Object>> toResponse(PolicyReloader.Result result) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("result", result.success() ? "success" : "failure");
        if (result.success()) {
            Policy p = result.policy().orElseThrow();
            body.put("source", p.source());
            body.put("listeners", p.listenerNames().size());
            body.put("rules", p.ruleCount());
            return ResponseEntity.ok(body);
        }
        body.put("errors", result.errors());
        return ResponseEntity.unprocessableEntity().body(body);
    }
}
