/**
 * Remote decision services: a {@code pend} rule with {@code decision: NAME} asks the service NAME
 * ({@code portcullis.decision-services.NAME}) while the client waits with its deadline, and the answer
 * completes the inspection.
 *
 * <p>Read top-down: {@link io.portcullis.gateway.decision.DecisionServices} (the trigger, the abort handler
 * and the in-flight calls), {@link io.portcullis.gateway.decision.DecisionService} (one service: its client,
 * cache and failure policy), {@link io.portcullis.gateway.decision.DecisionClient} (Reactor Netty's HTTP client
 * wrapped in Resilience4j's bulkhead, circuit breaker and retry), {@link io.portcullis.gateway.decision.DecisionJson}
 * (the wire format, {@code http} and {@code opa}), {@link io.portcullis.gateway.decision.VerdictCache} (Caffeine).
 *
 * <p>Plain Java, Netty, Reactor and Resilience4j: no Spring here (Spring wires it in {@code config}).
 */
package io.portcullis.gateway.decision;
