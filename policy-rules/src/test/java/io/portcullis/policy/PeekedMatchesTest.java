package io.portcullis.policy;

import io.portcullis.policy.model.InspectRequest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static io.portcullis.policy.Errors.errorsOf;
import static io.portcullis.policy.Errors.rules;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The conditions on what a PROXY v2 header and a TLS peek tell: pp-authority, pp-tlv and tls-fingerprint,
 * with their errors (file:line:column) and lists of fingerprints, inline and from files.
 */
class PeekedMatchesTest {

    private static final String JA4 = "t13d1516h2_8daaf6152771_e5627efa2ab1";
    private static final String OTHER_JA4 = "t13d1517h2_8daaf6152771_b0da82dd1658";
    private static final String CURL_JA4 = "t13d3112h2_e8f1e7e78f70_6bebaf5329ac";

    @TempDir
    Path dir;

    private static ListenerPolicy listener(String yaml) throws PolicyException {
        return Policy.parse(yaml, "rules.yaml").listener("demo").orElseThrow();
    }

    private static InspectRequest proxied(Map<Integer, List<String>> tlvs) {
        return Requests.from("demo", "192.0.2.1").withProxy(new InetSocketAddress("198.51.100.7", 50000),
                new InetSocketAddress("203.0.113.1", 443), tlvs);
    }

    private static InspectRequest authority(String name) {
        return proxied(Map.of(InspectRequest.TLV_AUTHORITY, List.of(name)));
    }

    private static InspectRequest fingerprint(String ja4) {
        return Requests.from("demo", "192.0.2.1").withTls(Optional.empty(), List.of(), Optional.ofNullable(ja4));
    }

    // ---- pp-authority ------------------------------------------------------------------------------

    @Test
    void ppAuthorityMatchesAsSniDoes() throws PolicyException {
        ListenerPolicy policy = listener(rules("""
                      - name: exact
                        pp-authority: [db.example.com]
                        action: accept
                      - name: wildcard
                        pp-authority: ["*.example.com"]
                        action: pend
                      - name: without
                        pp-authority: [none]
                        action: reject
                """).replace("default: reject", "default: accept"));

        assertThat(policy.evaluate(authority("db.example.com")).rule()).isEqualTo("exact");
        assertThat(policy.evaluate(authority("DB.Example.COM")).rule()).isEqualTo("exact");
        assertThat(policy.evaluate(authority("a.b.example.com")).rule()).isEqualTo("wildcard");
        assertThat(policy.evaluate(authority("example.com")).rule()).as("not the suffix itself").isEqualTo("default");
        assertThat(policy.evaluate(authority("example.com.evil.io")).rule()).isEqualTo("default");
        assertThat(policy.evaluate(authority("hex:c3a9")).rule()).as("a non-ASCII authority, decoded as hex")
                .isEqualTo("default");
        assertThat(policy.evaluate(proxied(Map.of(0xEA, List.of("vpce-1")))).rule()).as("header, no authority")
                .isEqualTo("without");
        assertThat(policy.evaluate(Requests.from("demo", "192.0.2.1")).rule()).as("no header").isEqualTo("without");
        assertThat(policy.evaluate(Requests.tls("demo", "192.0.2.1", "db.example.com")).rule())
                .as("the ClientHello's SNI is not the authority").isEqualTo("without");
    }

    @Test
    void ppAuthorityErrorsAreSnisWithItsOwnWords() {
        assertThat(errorsOf(rules("""
                      - name: a
                        pp-authority: ["*", "a.*.com", "ex ample.com", "db.example.com:443", "bücher.example"]
                        action: accept
                      - name: b
                        pp-authority: []
                        action: accept
                      - name: c
                        pp-authority: db.example.com
                        action: accept
                """))).containsExactly(
                "rules.yaml:5:24: bad authority '*' (expected a name like db.example.com, a wildcard like"
                        + " \"*.example.com\", or none)",
                "rules.yaml:5:29: bad authority 'a.*.com' (expected a name like db.example.com, a wildcard like"
                        + " \"*.example.com\", or none)",
                "rules.yaml:5:40: bad authority 'ex ample.com' (expected a name like db.example.com, a wildcard like"
                        + " \"*.example.com\", or none)",
                "rules.yaml:5:56: bad authority 'db.example.com:443' (expected a name like db.example.com, a wildcard"
                        + " like \"*.example.com\", or none)",
                "rules.yaml:5:78: bad authority 'bücher.example' (expected a name like db.example.com, a wildcard"
                        + " like \"*.example.com\", or none)",
                "rules.yaml:8:23: empty 'pp-authority' list: the rule could never match (leave 'pp-authority' out to"
                        + " match any authority)",
                "rules.yaml:11:23: expected a list, got a string");
    }

    // ---- pp-tlv ------------------------------------------------------------------------------------

    @Test
    void ppTlvMatchesAnyValueOfTheTypeAndEveryListedType() throws PolicyException {
        ListenerPolicy policy = listener(rules("""
                      - name: aws
                        pp-tlv: {type: 0xEA, values: [vpce-0123abcd, vpce-4567]}
                        action: accept
                      - name: azure-quoted
                        pp-tlv: {type: "0xee", values: ["42"]}
                        action: accept
                      - name: gcp-decimal
                        pp-tlv: {type: 224, values: [1234567890]}
                        action: accept
                      - name: both
                        pp-tlv:
                          - {type: 0x05, values: ["hex:00ff"]}
                          - {type: 0x02, values: [db.example.com]}
                        action: pend
                """));

        assertThat(policy.evaluate(proxied(Map.of(0xEA, List.of("vpce-0123abcd")))).rule()).isEqualTo("aws");
        assertThat(policy.evaluate(proxied(Map.of(0xEA, List.of("other", "vpce-4567")))).rule())
                .as("any TLV of the type").isEqualTo("aws");
        assertThat(policy.evaluate(proxied(Map.of(0xEA, List.of("VPCE-0123ABCD")))).rule()).as("exact, case counts")
                .isEqualTo("default");
        assertThat(policy.evaluate(proxied(Map.of(0xEE, List.of("42")))).rule()).isEqualTo("azure-quoted");
        assertThat(policy.evaluate(proxied(Map.of(0xE0, List.of("1234567890")))).rule()).isEqualTo("gcp-decimal");
        assertThat(policy.evaluate(proxied(Map.of(0x05, List.of("hex:00ff"), 0x02, List.of("db.example.com")))).rule())
                .isEqualTo("both");
        assertThat(policy.evaluate(proxied(Map.of(0x05, List.of("hex:00ff")))).rule()).as("each listed type must hold")
                .isEqualTo("default");
        assertThat(policy.evaluate(proxied(Map.of(0xE0, List.of("vpce-0123abcd")))).rule()).as("another type")
                .isEqualTo("default");
        assertThat(policy.evaluate(Requests.from("demo", "192.0.2.1")).rule()).as("no header").isEqualTo("default");
        assertThat(policy.rules()).allSatisfy(rule -> assertThat(rule.needsProxyHeader()).isTrue())
                .allSatisfy(rule -> assertThat(rule.needsTlsPeek()).isFalse());
    }

    @Test
    void ppTlvErrors() {
        assertThat(errorsOf(rules("""
                      - name: a
                        pp-tlv: {type: 256, values: [x]}
                        action: accept
                      - name: b
                        pp-tlv: {type: -1, values: [x]}
                        action: accept
                      - name: c
                        pp-tlv: {type: "0xEG", values: []}
                        action: accept
                      - name: d
                        pp-tlv: {type: 012, values: [""]}
                        action: accept
                      - name: e
                        pp-tlv: {values: [x], typ: 2}
                        action: accept
                      - name: f
                        pp-tlv: 0xEA
                        action: accept
                      - name: g
                        pp-tlv: []
                        action: accept
                      - name: h
                        pp-tlv: [{type: 0xEA, values: [a]}, {type: 234, values: [b]}]
                        action: accept
                      - name: i
                        pp-tlv: {type: 0x100, values: ["hex:ABCD", "hex:abc", "café", x]}
                        action: accept
                      - name: j
                        pp-tlv: {type: [2], values: x}
                        action: accept
                      - name: k
                        pp-tlv: [{type: 2, values: [a]}, b]
                        action: accept
                      - name: l
                        pp-tlv: [b, [c]]
                        action: accept
                """))).containsExactly(
                "rules.yaml:5:24: bad TLV type '256' (expected 0-255, in decimal such as 234 or in hex such as 0xEA)",
                "rules.yaml:8:24: bad TLV type '-1' (expected 0-255, in decimal such as 234 or in hex such as 0xEA)",
                "rules.yaml:11:24: bad TLV type '0xEG' (expected 0-255, in decimal such as 234 or in hex such as 0xEA)",
                "rules.yaml:11:40: empty 'values' list: the rule could never match (give at least one value)",
                "rules.yaml:14:24: bad TLV type '012' (expected 0-255, in decimal such as 234 or in hex such as 0xEA)",
                "rules.yaml:14:38: bad TLV value '': a TLV value is not empty",
                "rules.yaml:17:17: missing required key 'type' in pp-tlv (e.g. type: 0xEA)",
                "rules.yaml:17:31: unknown key 'typ' (did you mean 'type'?)",
                "rules.yaml:20:17: expected a mapping such as {type: 0xEA, values: [vpce-0123abcd]} or a list of them,"
                        + " got a string",
                "rules.yaml:23:17: empty 'pp-tlv' list: give a mapping such as {type: 0xEA, values: [vpce-0123abcd]}"
                        + " (leave 'pp-tlv' out to match any header)",
                "rules.yaml:26:52: TLV type 0xEA is given twice (first at line 26); the values of one type are"
                        + " alternatives: put them in one 'values' list",
                "rules.yaml:29:24: bad TLV type '0x100' (expected 0-255, in decimal such as 234 or in hex such as 0xEA)",
                "rules.yaml:29:40: bad TLV value 'hex:ABCD': hex digits are lower case: 'hex:abcd'",
                "rules.yaml:29:52: bad TLV value 'hex:abc': expected hex: and an even number of hex digits",
                "rules.yaml:29:63: bad TLV value 'café': TLV values are printable ASCII, or hex: and lower-case hex"
                        + " digits for other bytes",
                "rules.yaml:32:24: expected a string, got a list",
                "rules.yaml:32:37: expected a list, got a string",
                "rules.yaml:35:42: expected a mapping, got a string",
                // no mapping at all: refused, not a condition with no TLVs in it
                "rules.yaml:38:18: expected a mapping, got a string",
                "rules.yaml:38:21: expected a mapping, got a list");
    }

    // ---- tls-fingerprint ---------------------------------------------------------------------------

    @Test
    void tlsFingerprintMatchesListedFingerprintsListsAndNone() throws PolicyException {
        ListenerPolicy policy = listener("lists:\n  bad-bots: [" + OTHER_JA4.toUpperCase() + "]\n" + rules("""
                      - name: known
                        tls-fingerprint: [T13D1516H2_8DAAF6152771_E5627EFA2AB1]
                        action: accept
                      - name: bots
                        tls-fingerprint: [list:bad-bots, none]
                        action: reject
                """).replace("default: reject", "default: pend"));

        assertThat(policy.evaluate(fingerprint(JA4)).rule()).as("written upper, sent lower").isEqualTo("known");
        assertThat(policy.evaluate(fingerprint(JA4.toUpperCase())).rule()).isEqualTo("known");
        assertThat(policy.evaluate(fingerprint(OTHER_JA4)).rule()).as("from the list").isEqualTo("bots");
        assertThat(policy.evaluate(fingerprint(null)).rule()).as("none: not peeked").isEqualTo("bots");
        assertThat(policy.evaluate(fingerprint(CURL_JA4)).rule()).isEqualTo("default");
        assertThat(policy.evaluate(fingerprint("t13d1516h2_8daaf6152771_e5627efa2ab\u212A")).rule())
                .as("a Kelvin sign is not a k").isEqualTo("default");
        assertThat(policy.evaluate(fingerprint("")).rule()).isEqualTo("default");
        assertThat(policy.evaluate(fingerprint("x".repeat(100_000))).rule()).isEqualTo("default");
        assertThat(policy.rules()).allSatisfy(rule -> assertThat(rule.needsTlsPeek()).isTrue());
    }

    @Test
    void tlsFingerprintErrors() {
        assertThat(errorsOf("lists:\n  office: [192.0.2.0/24]\n  bots: [" + JA4 + "]\n" + rules("""
                      - name: a
                        tls-fingerprint: [x13d1516h2_8daaf6152771_e5627efa2ab1, t13d1516h2_8daaf6152771, none]
                        action: accept
                      - name: b
                        tls-fingerprint: [t13d15a6h2_8daaf6152771_e5627efa2ab1, t13d1516h2_8daaf615277g_e5627efa2ab1]
                        action: accept
                      - name: c
                        tls-fingerprint: [list:office, list:bts, "list:", "!list:bots", "t13d1516h2_8daaf6152771_é5627efa2ab1"]
                        action: accept
                      - name: d
                        tls-fingerprint: []
                        action: accept
                      - name: e
                        source: [list:bots]
                        action: accept
                """))).containsExactly(
                "rules.yaml:8:27: bad JA4 fingerprint 'x13d1516h2_8daaf6152771_e5627efa2ab1': its first part 'x13d1516h2'"
                        + " should be 10 characters: t, q or d; a TLS version such as 13, 12 or s3; d or i; two 2-digit"
                        + " counts; two ALPN characters (expected a fingerprint like " + JA4 + ", list:NAME or none)",
                "rules.yaml:8:65: bad JA4 fingerprint 't13d1516h2_8daaf6152771': expected three parts joined by '_'"
                        + " (expected a fingerprint like " + JA4 + ", list:NAME or none)",
                "rules.yaml:11:27: bad JA4 fingerprint 't13d15a6h2_8daaf6152771_e5627efa2ab1': its first part"
                        + " 't13d15a6h2' should be 10 characters: t, q or d; a TLS version such as 13, 12 or s3; d or i;"
                        + " two 2-digit counts; two ALPN characters (expected a fingerprint like " + JA4
                        + ", list:NAME or none)",
                "rules.yaml:11:65: bad JA4 fingerprint 't13d1516h2_8daaf615277g_e5627efa2ab1': its second part should be"
                        + " 12 hex digits (expected a fingerprint like " + JA4 + ", list:NAME or none)",
                "rules.yaml:14:27: list 'office' (line 2) holds addresses, tls-fingerprint needs JA4 fingerprints",
                "rules.yaml:14:40: unknown list 'bts' (known: office, bots)",
                "rules.yaml:14:50: missing list name after 'list:'",
                "rules.yaml:14:59: tls-fingerprint entries cannot be negated ('!list:bots'); write a rule that matches"
                        + " them before this one",
                "rules.yaml:14:73: bad JA4 fingerprint 't13d1516h2_8daaf6152771_é5627efa2ab1': only ASCII letters, digits"
                        + " and '_' belong in a fingerprint (expected a fingerprint like " + JA4 + ", list:NAME or none)",
                "rules.yaml:17:26: empty 'tls-fingerprint' list: the rule could never match (leave 'tls-fingerprint'"
                        + " out to match any client)",
                "rules.yaml:20:18: list 'bots' (line 3) holds JA4 fingerprints, source needs addresses");
    }

    @Test
    void aListHoldsOneKind() {
        assertThat(errorsOf("""
                lists:
                  mixed: [10.0.0.0/8, t13d1516h2_8daaf6152771_e5627efa2ab1]
                  prints: [t13d1516h2_8daaf6152771_e5627efa2ab1, 10.0.0.1, t13d1516h2_nothex]
                listeners: {}
                """)).containsExactly(
                "rules.yaml:2:23: 't13d1516h2_8daaf6152771_e5627efa2ab1' is a JA4 fingerprint, but this list holds"
                        + " addresses (from line 2); give JA4 fingerprints a list of their own",
                "rules.yaml:3:50: '10.0.0.1' is an address, but this list holds JA4 fingerprints (from line 3); give"
                        + " addresses a list of their own",
                "rules.yaml:3:60: bad JA4 fingerprint 't13d1516h2_nothex': expected three parts joined by '_' (e.g. "
                        + JA4 + ")");
    }

    @Test
    void anEmptyListServesEitherKey() throws PolicyException {
        ListenerPolicy policy = listener("lists:\n  nobody: []\n" + rules("""
                      - name: a
                        tls-fingerprint: [list:nobody]
                        source: [list:nobody]
                        action: accept
                """));

        assertThat(policy.evaluate(fingerprint(JA4)).rule()).isEqualTo("default");
    }

    @Test
    void aLargeInlineListIsOneLookUp() throws PolicyException {
        StringBuilder list = new StringBuilder("lists:\n  many: [");
        for (int i = 0; i < 50_000; i++) {
            list.append(i == 0 ? "" : ", ").append(String.format("t13d1516h2_%012x_e5627efa2ab1", i));
        }
        ListenerPolicy policy = listener(list.append("]\n").toString() + rules("""
                      - name: many
                        tls-fingerprint: [list:many]
                        action: reject
                """));

        assertThat(policy.evaluate(fingerprint(String.format("t13d1516h2_%012x_e5627efa2ab1", 49_999))).rule())
                .isEqualTo("many");
        assertThat(policy.evaluate(fingerprint(String.format("t13d1516h2_%012x_e5627efa2ab1", 50_000))).rule())
                .isEqualTo("default");
    }

    @Test
    void aFileOfFingerprintsIsReadAndReloaded() throws Exception {
        Path bots = dir.resolve("bots.txt");
        Files.writeString(bots, "# scanners\n" + JA4 + "  # one\n\n" + OTHER_JA4.toUpperCase() + "\n");
        Path rulesFile = dir.resolve("rules.yaml");
        Files.writeString(rulesFile, "lists:\n  bots: {file: bots.txt}\n" + rules("""
                      - name: bots
                        tls-fingerprint: [list:bots]
                        action: reject
                """).replace("default: reject", "default: accept"));

        Policy first = Policy.load(rulesFile);
        assertThat(first.files()).contains(bots.toAbsolutePath().normalize());
        ListenerPolicy policy = first.listener("demo").orElseThrow();
        assertThat(policy.evaluate(fingerprint(JA4)).rule()).isEqualTo("bots");
        assertThat(policy.evaluate(fingerprint(OTHER_JA4)).rule()).isEqualTo("bots");
        assertThat(policy.evaluate(fingerprint(CURL_JA4)).rule()).isEqualTo("default");

        Files.writeString(bots, CURL_JA4 + "\n");
        ListenerPolicy reloaded = Policy.load(rulesFile).listener("demo").orElseThrow();
        assertThat(reloaded.evaluate(fingerprint(JA4)).rule()).isEqualTo("default");
        assertThat(reloaded.evaluate(fingerprint(CURL_JA4)).rule()).isEqualTo("bots");
    }

    @Test
    void aFileOfFingerprintsReportsBadAndMixedLines() throws Exception {
        Path bots = dir.resolve("bots.txt");
        Files.writeString(bots, JA4 + "\n10.0.0.1\nt13d1516h2_8daaf6152771_e5627efa2abZ\n2001:db8::1\n");
        Path addresses = dir.resolve("blocked.txt");
        Files.writeString(addresses, "10.0.0.1\n" + JA4 + "\n");
        Path rulesFile = dir.resolve("rules.yaml");
        Files.writeString(rulesFile, "lists:\n  bots: {file: bots.txt}\n  blocked: {file: blocked.txt}\n" + rules("""
                      - name: a
                        source: [list:bots]
                        action: reject
                """));

        PolicyException e = org.assertj.core.api.Assertions.catchThrowableOfType(PolicyException.class,
                () -> Policy.load(rulesFile));
        assertThat(e.errors()).extracting(PolicyError::toString).containsExactly(
                rulesFile + ":8:18: list 'bots' (line 2) holds JA4 fingerprints, source needs addresses",
                bots.normalize() + ":2:1: '10.0.0.1' is an address, but this list holds JA4 fingerprints (from line 1);"
                        + " give addresses a list of their own",
                bots.normalize() + ":3:1: bad JA4 fingerprint 't13d1516h2_8daaf6152771_e5627efa2abZ': its third part"
                        + " should be 12 hex digits (e.g. " + JA4 + ")",
                bots.normalize() + ":4:1: '2001:db8::1' is an address, but this list holds JA4 fingerprints (from line"
                        + " 1); give addresses a list of their own",
                addresses.normalize() + ":2:1: '" + JA4 + "' is a JA4 fingerprint, but this list holds addresses (from"
                        + " line 1); give JA4 fingerprints a list of their own");
    }
}
