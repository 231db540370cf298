package io.portcullis.gateway.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.gateway.testing.GatewayUnderTest;
import io.portcullis.gateway.testing.RedisServer;
import io.portcullis.policy.limit.ConcurrencyLimit;
import io.portcullis.policy.limit.LimitKey;
import io.portcullis.policy.model.Permit;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The wiring: cluster limits exist when a Redis url is set, with their meters, and are gone with the context. */
class ClusterLimitsApplicationTest {

    @Test
    void aRedisUrlBringsClusterLimitsWithTheirMeters() throws Exception {
        try (RedisServer redis = RedisServer.start();
             GatewayUnderTest gateway = new GatewayUnderTest().demo().properties(
                     "portcullis.worker-threads=1",
                     "portcullis.cluster.redis.url=" + redis.url(),
                     "portcullis.cluster.redis.timeout=1s",
                     "portcullis.cluster.redis.lease-ttl=2s",
                     "portcullis.cluster.replica-id=replica-a").start()) {
            ClusterLimits limits = gateway.context().getBeanProvider(ClusterLimits.class).getObject();
            assertThat(limits).isInstanceOf(RedisClusterLimits.class);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (!((RedisClusterLimits) limits).connected()) {
                assertThat(System.nanoTime()).as("connected within 15 s").isLessThan(deadline);
                Thread.sleep(20);
            }
            Permit permit = limits.tryAcquire("demo", "cap", new ConcurrencyLimit(LimitKey.SOURCE_IP, 1), "127.0.0.1")
                    .get(5, TimeUnit.SECONDS).orElseThrow();
            assertThat(gateway.meters().get("portcullis.cluster.leases").gauge().value()).isEqualTo(1);
            assertThat(gateway.meters().get("portcullis.cluster.lease.renewals").tag("result", "lost")
                    .functionCounter().count()).isZero();
            assertThat(redis.integer("ZCARD portcullis:conc:demo:cap:source-ip:127.0.0.1")).isEqualTo(1);

            gateway.stop();
            assertThat(redis.integer("EXISTS portcullis:conc:demo:cap:source-ip:127.0.0.1"))
                    .as("a lease still held when the context closes is released").isZero();
            permit.release();
        }
    }

    @Test
    void withoutARedisUrlThereAreNoClusterLimits() throws Exception {
        try (GatewayUnderTest gateway = new GatewayUnderTest().demo().properties("portcullis.worker-threads=1")
                .start()) {
            assertThat(gateway.context().getBeanProvider(ClusterLimits.class).getIfAvailable()).isNull();
            assertThat(gateway.meters().find("portcullis.cluster.leases").gauge()).isNull();
        }
    }
}
