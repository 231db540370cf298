package io.portcullis.gateway.decision;

import io.portcullis.core.InspectId;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.TlsHello;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

/** What makes two connections share a cached answer: listener, rule, source address and SNI, not the port. */
class DecisionKeyTest {

    private static InspectRequest request(String listener, String ip, int port, Optional<String> sni) throws Exception {
        InspectRequest r = InspectRequest.of(InspectId.next(), listener,
                new InetSocketAddress(InetAddress.getByName(ip), port), new InetSocketAddress("127.0.0.1", 7000),
                Instant.now());
        return sni.isEmpty() ? r : r.withTls(new TlsHello(sni, List.of(), List.of(), "t13i000000_000000000000_000000000000"));
    }

    @Test
    void theSourcePortAndIdDoNotMatter() throws Exception {
        assertThat(DecisionKey.of(request("db", "192.0.2.1", 1111, Optional.empty()), "ask"))
                .isEqualTo(DecisionKey.of(request("db", "192.0.2.1", 2222, Optional.empty()), "ask"));
    }

    @Test
    void listenerRuleAddressAndSniDo() throws Exception {
        DecisionKey key = DecisionKey.of(request("db", "192.0.2.1", 1, Optional.empty()), "ask");
        assertThat(DecisionKey.of(request("web", "192.0.2.1", 1, Optional.empty()), "ask")).isNotEqualTo(key);
        assertThat(DecisionKey.of(request("db", "192.0.2.1", 1, Optional.empty()), "other")).isNotEqualTo(key);
        assertThat(DecisionKey.of(request("db", "192.0.2.2", 1, Optional.empty()), "ask")).isNotEqualTo(key);
        assertThat(DecisionKey.of(request("db", "192.0.2.1", 1, Optional.of("a.example.com")), "ask")).isNotEqualTo(key);
        assertThat(DecisionKey.of(request("db", "192.0.2.1", 1, Optional.of("a.example.com")), "ask"))
                .isNotEqualTo(DecisionKey.of(request("db", "192.0.2.1", 1, Optional.of("b.example.com")), "ask"));
    }

    @Test
    void sniIsCaseInsensitive() throws Exception {
        assertThat(DecisionKey.of(request("db", "192.0.2.1", 1, Optional.of("DB.Example.COM")), "ask"))
                .isEqualTo(DecisionKey.of(request("db", "192.0.2.1", 1, Optional.of("db.example.com")), "ask"));
    }

    @Test
    void anIpv4MappedIpv6SourceIsItsIpv4Address() throws Exception {
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 192, 0, 2, 1};
        InetAddress v6 = java.net.Inet6Address.getByAddress(null, mapped, -1);
        InspectRequest viaV6 = InspectRequest.of(InspectId.next(), "db", new InetSocketAddress(v6, 1),
                new InetSocketAddress("127.0.0.1", 7000), Instant.now());
        assertThat(DecisionKey.of(viaV6, "ask")).isEqualTo(DecisionKey.of(request("db", "192.0.2.1", 1, Optional.empty()), "ask"));
        assertThat(DecisionKey.of(request("db", "2001:db8::1", 1, Optional.empty()), "ask").source().getHostAddress())
                .isEqualTo("2001:db8:0:0:0:0:0:1");
    }
}
