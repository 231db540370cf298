package io.portcullis.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.core.relay.Balance;
import io.portcullis.gateway.config.PortcullisProperties.Admin;
import io.portcullis.gateway.config.PortcullisProperties.Demo;
import io.portcullis.gateway.config.PortcullisProperties.HealthCheck;
import io.portcullis.gateway.config.PortcullisProperties.Inspect;
import io.portcullis.gateway.config.PortcullisProperties.ListenerProperties;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.core.io.FileSystemResource;

/** portcullis.rules as the file read: absolute, whatever the spelling; the checks follow the listeners. */
class PolicySourceTest {

    private static final Path CWD = Path.of("").toAbsolutePath();

    @Test
    void aFileIsReadByItsAbsolutePathWhateverTheSpelling() {
        for (String location : List.of("rules.yaml", "./rules.yaml", "file:rules.yaml", "file:./rules.yaml",
                " file:./rules.yaml ", CWD.resolve("rules.yaml").toString(), "file:" + CWD.resolve("rules.yaml"),
                CWD.resolve("rules.yaml").toUri().toString())) {
            assertThat(PolicySource.resolve(location)).as(location).isInstanceOf(FileSystemResource.class)
                    .extracting(r -> ((FileSystemResource) r).getPath()).isEqualTo(CWD.resolve("rules.yaml").toString());
        }
        assertThat(PolicySource.resolve("file:conf/./rules.yaml")).extracting(r -> ((FileSystemResource) r).getPath())
                .isEqualTo(CWD.resolve("conf/rules.yaml").toString());
    }

    @Test
    void dotDotStaysBecauseAfterASymlinkItNeedNotLeadWhereTheTextSays() {
        assertThat(PolicySource.absolute(Path.of("a/../rules.yaml"))).isEqualTo(CWD.resolve("a/../rules.yaml"));
        assertThat(PolicySource.absolute(Path.of("/"))).isEqualTo(Path.of("/"));
        assertThat(PolicySource.absolute(Path.of("/./etc/./x"))).isEqualTo(Path.of("/etc/x"));
    }

    @Test
    void noListenerMeansTheDemoPolicyForTheDemoListener() {
        PolicySource demo = PolicySource.of(properties(List.of()));
        assertThat(demo.resource()).isPresent();
        assertThat(demo.configured()).isFalse();
        assertThat(demo.checks().inspecting()).containsExactly("demo");
    }

    @Test
    void theChecksFollowTheConfiguredListeners() {
        PolicySource source = PolicySource.of(properties(List.of(listener("db", true), listener("raw", false))));
        assertThat(source.checks().inspecting()).containsExactly("db");
        assertThat(source.checks().isStandalone()).isFalse();
        assertThat(source.name()).isEqualTo(CWD.resolve("rules.yaml").toString());
        assertThat(source.withRules("other.yaml").name()).isEqualTo(CWD.resolve("other.yaml").toString());
        assertThat(source.withRules("other.yaml").checks()).isSameAs(source.checks());
        assertThat(PolicySource.standalone("other.yaml").checks().isStandalone()).isTrue();
    }

    private static PortcullisProperties properties(List<ListenerProperties> listeners) {
        return new PortcullisProperties(listeners.isEmpty() ? null : "file:./rules.yaml", listeners, 0, "auto",
                new Demo(HostAndPort.parse("127.0.0.1:7000"), HostAndPort.parse("127.0.0.1:7001")), new Admin(null),
                Duration.ofMillis(500), Map.of(), Duration.ofSeconds(20), new PortcullisProperties.Audit(65536),
                new PortcullisProperties.Cluster(new PortcullisProperties.Redis(null, Duration.ofMillis(100),
                        new PortcullisProperties.RedisPool(2, 10_000), Duration.ofSeconds(15)), null));
    }

    private static ListenerProperties listener(String name, boolean inspects) {
        return new ListenerProperties(name, HostAndPort.parse("127.0.0.1:1"), inspects, List.of(HostAndPort.parse("127.0.0.1:2")),
                Balance.ROUND_ROBIN, Duration.ofSeconds(2), Duration.ofHours(1),
                new Inspect(Duration.ofSeconds(5), FinalAction.REJECT, 10, FinalAction.REJECT, 16384),
                new HealthCheck(true, Duration.ofSeconds(5), Duration.ofSeconds(1), 2, 3),
                new PortcullisProperties.ProxyProtocol(io.portcullis.core.PeekSettings.ProxyProtocol.OFF, List.of(),
                        io.portcullis.core.relay.RelaySettings.SendProxy.OFF, io.portcullis.core.PeekSettings.OnLocal.RELAY),
                new PortcullisProperties.Peek(false, Duration.ofSeconds(2), 16384, io.portcullis.core.PeekSettings.OnNotTls.REJECT), Map.of(),
                PortcullisProperties.EarlyRejectMode.OFF, io.portcullis.gateway.policy.LiveEnforcement.RecheckMode.OFF);
    }
}
