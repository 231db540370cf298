package io.portcullis.gateway.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyOptions;
import io.portcullis.policy.limit.LimiterRegistry;
import io.portcullis.policy.model.InspectId;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** {@code portcullis_limiter_key_cap_rejects_total} counts what the limiters refuse at their key cap. */
class LimiterMetersTest {

    @Test
    void rejectsAtTheKeyCapAreCountedAndOthersAreNot() throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        LimiterRegistry limiters = new LimiterRegistry(System::nanoTime, 1);
        try (GatewayMeters gatewayMeters = new GatewayMeters(meters, 64)) {
            gatewayMeters.limiters(limiters);
            countsAtTheCap(meters, limiters);
        }
    }

    private static void countsAtTheCap(SimpleMeterRegistry meters, LimiterRegistry limiters) throws Exception {
        Policy policy = Policy.parse("""
                listeners:
                  db:
                    rules:
                      - name: rate
                        rate-limit: {rate: 1/m, burst: 1}
                    default: accept
                """, "rules.yaml", PolicyOptions.defaults().withLimiters(limiters));

        assertThat(evaluate(policy, "192.0.2.1").rule()).isEqualTo("default");
        assertThat(evaluate(policy, "192.0.2.1").reason()).hasValueSatisfying(r -> assertThat(r).contains("exceeded"));
        assertThat(evaluate(policy, "192.0.2.2").reason()).hasValueSatisfying(r -> assertThat(r).contains("its cap"));
        assertThat(evaluate(policy, "2001:db8::1").rule()).isEqualTo("rate");

        assertThat(meters.get("portcullis.limiter.key.cap.rejects").functionCounter().count()).isEqualTo(2);
    }

    private static Verdict evaluate(Policy policy, String source) throws Exception {
        return policy.listener("db").orElseThrow().evaluate(InspectRequest.of(InspectId.next(), "db",
                new InetSocketAddress(InetAddress.getByName(source), 40000),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 5432), Instant.now()));
    }
}
