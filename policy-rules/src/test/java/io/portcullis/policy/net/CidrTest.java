package io.portcullis.policy.net;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CidrTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "10.0.0.0/8              | 10.0.0.0/8",
            "198.51.100.7            | 198.51.100.7/32",
            "0.0.0.0/0               | 0.0.0.0/0",
            "255.255.255.255         | 255.255.255.255/32",
            "' 192.0.2.0/24 '        | 192.0.2.0/24",
            "2001:db8::/32           | 2001:db8::/32",
            "2001:DB8:0:0:0:0:0:1    | 2001:db8::1/128",
            "::                      | ::/128",
            "::/0                    | ::/0",
            "::1                     | ::1/128",
            "1::                     | 1::/128",
            "1:2:3:4:5:6:7::         | 1:2:3:4:5:6:7:0/128",
            "::2:3:4:5:6:7:8         | 0:2:3:4:5:6:7:8/128",
            "1:0:0:2:0:0:0:3         | 1:0:0:2::3/128",
            "fe80::1:2:3.4.5.6       | fe80::1:2:304:506/128",
            "::ffff:192.0.2.1        | ::ffff:192.0.2.1/128",
            "::ffff:10.0.0.0/104     | ::ffff:10.0.0.0/104",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff | ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
    })
    void parsesAndPrintsCanonically(String text, String canonical) throws CidrFormatException {
        assertThat(Cidr.parse(text)).hasToString(canonical);
    }

    @Test
    void singleAddressesAreFullPrefixes() throws CidrFormatException {
        assertThat(Cidr.parse("192.0.2.1").prefix()).isEqualTo(32);
        assertThat(Cidr.parse("192.0.2.1").isIpv6()).isFalse();
        assertThat(Cidr.parse("2001:db8::1").prefix()).isEqualTo(128);
        assertThat(Cidr.parse("2001:db8::1").isIpv6()).isTrue();
        assertThat(Cidr.parse("2001:db8::1").high()).isEqualTo(0x20010db800000000L);
        assertThat(Cidr.parse("2001:db8::1").low()).isEqualTo(1L);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "10.0.0.1/8          | host bits set in '10.0.0.1/8' (did you mean 10.0.0.0/8?)",
            "192.0.2.77/24       | host bits set in '192.0.2.77/24' (did you mean 192.0.2.0/24?)",
            "0.0.0.1/0           | host bits set in '0.0.0.1/0' (did you mean 0.0.0.0/0?)",
            "2001:db8::1/32      | host bits set in '2001:db8::1/32' (did you mean 2001:db8::/32?)",
            "2001:db8::c000/113  | host bits set in '2001:db8::c000/113' (did you mean 2001:db8::8000/113?)",
            "10.0.0.0/33         | prefix /33 is out of range for IPv4 (0-32) in '10.0.0.0/33'",
            "2001:db8::/129      | prefix /129 is out of range for IPv6 (0-128) in '2001:db8::/129'",
            "10.0.0.0/           | '10.0.0.0/' is not an IPv4/IPv6 address or CIDR",
            "10.0.0.0/-1         | '10.0.0.0/-1' is not an IPv4/IPv6 address or CIDR",
            "10.0.0.0/8/8        | '10.0.0.0/8/8' is not an IPv4/IPv6 address or CIDR",
            "garbage             | 'garbage' is not an IPv4/IPv6 address or CIDR",
            "example.com         | 'example.com' is not an IPv4/IPv6 address or CIDR",
            "10.0.0              | '10.0.0' is not an IPv4/IPv6 address or CIDR",
            "10                  | '10' is not an IPv4/IPv6 address or CIDR",
            "10.0.0.0.0          | '10.0.0.0.0' is not an IPv4/IPv6 address or CIDR",
            "10.0.0.             | '10.0.0.' is not an IPv4/IPv6 address or CIDR",
            "256.0.0.0           | '256.0.0.0' is not an IPv4/IPv6 address or CIDR",
            "1.2.3.4a            | '1.2.3.4a' is not an IPv4/IPv6 address or CIDR",
            "010.0.0.1           | leading zeros are not allowed in IPv4 address '010.0.0.1' (some tools read them as octal)",
            "1:2:3:4:5:6:7       | '1:2:3:4:5:6:7' is not an IPv4/IPv6 address or CIDR",
            "1:2:3:4:5:6:7:8:9   | '1:2:3:4:5:6:7:8:9' is not an IPv4/IPv6 address or CIDR",
            ":::                 | ':::' is not an IPv4/IPv6 address or CIDR",
            "1::2::3             | '1::2::3' is not an IPv4/IPv6 address or CIDR",
            ":1::                | ':1::' is not an IPv4/IPv6 address or CIDR",
            "1:::2               | '1:::2' is not an IPv4/IPv6 address or CIDR",
            "12345::             | '12345::' is not an IPv4/IPv6 address or CIDR",
            "g::                 | 'g::' is not an IPv4/IPv6 address or CIDR",
            "1.2.3.4::           | '1.2.3.4::' is not an IPv4/IPv6 address or CIDR",
            "1:2:3:4:5:6:7:1.2.3.4 | '1:2:3:4:5:6:7:1.2.3.4' is not an IPv4/IPv6 address or CIDR",
            "fe80::1%eth0        | zone ids are not allowed in addresses: 'fe80::1%eth0'",
    })
    void refusesWithAClearMessage(String text, String message) {
        assertThatThrownBy(() -> Cidr.parse(text)).isInstanceOf(CidrFormatException.class).hasMessage(message);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   "})
    void refusesEmptyText(String text) {
        assertThatThrownBy(() -> Cidr.parse(text)).hasMessage("empty address");
    }

    @Test
    void factoriesRefuseHostBits() {
        assertThat(Cidr.ipv4(0x0A000000, 8)).hasToString("10.0.0.0/8");
        assertThatThrownBy(() -> Cidr.ipv4(0x0A000001, 8)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Cidr.ipv6(0, 1, 64)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Cidr.ipv6(0x20010db800000000L, 0, 32)).isEqualTo(Cidr.ipv6(0x20010db800000000L, 0, 32));
    }
}
