package io.portcullis.policy.yaml;

import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyError;
import io.portcullis.policy.PolicyException;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Every validation error, with the exact file:line:column it is reported at. */
class PolicyErrorsTest {

    /** The errors of a policy that must not compile, as "file:line:column: message". */
    static List<String> errorsOf(String yaml) {
        PolicyException e = catchThrowableOfType(PolicyException.class, () -> Policy.parse(yaml, "rules.yaml"));
        assertThat(e).as("the policy should have been refused").isNotNull();
        assertThat(e.getMessage()).isEqualTo(String.join("\n", e.errors().stream().map(PolicyError::toString).toList()));
        return e.errors().stream().map(PolicyError::toString).toList();
    }

    /** A listener "demo" with the given rule lines (already indented as list items) and default reject. */
    private static String rules(String rules) {
        return "listeners:\n  demo:\n    rules:\n" + rules + "    default: reject\n";
    }

    // ---- shape and types -----------------------------------------------------------------------

    @Test
    void topLevelMustBeAMapping() {
        assertThat(errorsOf("- lists\n- listeners\n")).containsExactly("rules.yaml:1:1: expected a mapping, got a list");
        assertThat(errorsOf("just text\n")).containsExactly("rules.yaml:1:1: expected a mapping, got a string");
    }

    @Test
    void sectionsMustHaveTheirTypes() {
        assertThat(errorsOf("""
                lists: [192.0.2.0/24]
                listeners:
                  - demo
                """)).containsExactly(
                "rules.yaml:1:8: expected a mapping, got a list",
                "rules.yaml:3:3: expected a mapping, got a list");
        assertThat(errorsOf("""
                listeners:
                  demo:
                    rules:
                      name: local
                    default: [reject]
                """)).containsExactly(
                "rules.yaml:4:7: expected a list, got a mapping",
                "rules.yaml:5:14: expected a string, got a list");
        assertThat(errorsOf("listeners:\n  demo: reject\n"))
                .containsExactly("rules.yaml:2:9: expected a mapping, got a string");
    }

    @Test
    void sourceMustBeAList() {
        assertThat(errorsOf(rules("""
                      - name: local
                        source: 127.0.0.1
                        action: accept
                """))).containsExactly("rules.yaml:5:17: expected a list, got a string");
    }

    @Test
    void ruleMustBeAMappingAndValuesStrings() {
        assertThat(errorsOf(rules("""
                      - local
                      - name: [a, b]
                        action:
                """))).containsExactly(
                "rules.yaml:4:9: expected a mapping, got a string",
                "rules.yaml:5:15: expected a string, got a list",
                "rules.yaml:6:16: expected a string, got an empty value");
    }

    @Test
    void keysMustBeNames() {
        assertThat(errorsOf("""
                ? [a, b]
                : 1
                listeners: {}
                """)).containsExactly("rules.yaml:1:3: expected a key name, got a list");
    }

    // ---- keys ----------------------------------------------------------------------------------

    @Test
    void unknownKeySuggestsTheNearestKnownOne() {
        assertThat(errorsOf(rules("""
                      - name: local
                        sourc: [127.0.0.1]
                        action: accept
                """))).containsExactly("rules.yaml:5:9: unknown key 'sourc' (did you mean 'source'?)");
        assertThat(errorsOf("""
                listners:
                  demo:
                    default: reject
                """)).containsExactly(
                "rules.yaml:1:1: unknown key 'listners' (did you mean 'listeners'?)",
                "rules.yaml:1:1: missing required key 'listeners'");
        assertThat(errorsOf("listeners:\n  demo:\n    defualt: reject\n")).containsExactly(
                "rules.yaml:2:3: missing required key 'default' in listener 'demo'",
                "rules.yaml:3:5: unknown key 'defualt' (did you mean 'default'?)");
    }

    @Test
    void unknownKeyWithNothingCloseListsTheKnownKeys() {
        assertThat(errorsOf(rules("""
                      - name: local
                        colour: blue
                        action: accept
                """))).containsExactly(
                "rules.yaml:5:9: unknown key 'colour' in a rule (expected one of: name, source, port, sni, alpn,"
                        + " tls-fingerprint, pp-authority, pp-tlv, time, source-port, action, decision, timeout, route,"
                        + " rate-limit, concurrency-limit, mode)");
    }

    @Test
    void misspeltNewMatchKeysAreSuggested() {
        assertThat(errorsOf(rules("""
                      - name: a
                        tls-fingerprnt: [none]
                        pp-authorty: [none]
                        pp-tvl: {type: 2, values: [x]}
                        action: accept
                """))).containsExactly(
                "rules.yaml:5:9: unknown key 'tls-fingerprnt' (did you mean 'tls-fingerprint'?)",
                "rules.yaml:6:9: unknown key 'pp-authorty' (did you mean 'pp-authority'?)",
                "rules.yaml:7:9: unknown key 'pp-tvl' (did you mean 'pp-tlv'?)");
    }

    @Test
    void duplicateAndMergeKeys() {
        assertThat(errorsOf(rules("""
                      - name: local
                        action: accept
                        action: reject
                """))).containsExactly("rules.yaml:6:9: duplicate key 'action' (first at line 5)");
        assertThat(errorsOf("""
                base: &base {default: reject}
                listeners:
                  demo:
                    <<: *base
                """)).containsExactly(
                "rules.yaml:1:1: unknown key 'base' in a policy (expected one of: lists, listeners)",
                "rules.yaml:3:3: missing required key 'default' in listener 'demo'",
                "rules.yaml:4:5: merge keys ('<<') are not supported");
    }

    @Test
    void missingRequiredKeys() {
        assertThat(errorsOf(rules("""
                      - source: [127.0.0.1]
                        action: accept
                      - name: local
                """))).containsExactly(
                "rules.yaml:4:9: missing required key 'name' in rule #1",
                "rules.yaml:6:9: missing required key 'action' in rule 'local' (or a limiter: 'rate-limit' or"
                        + " 'concurrency-limit')");
        assertThat(errorsOf("""
                listeners:
                  demo:
                    rules: []
                """)).containsExactly("rules.yaml:2:3: missing required key 'default' in listener 'demo'");
        assertThat(errorsOf("lists: {}\n")).containsExactly("rules.yaml:1:1: missing required key 'listeners'");
    }

    // ---- values --------------------------------------------------------------------------------

    @Test
    void unknownActionListsTheActions() {
        assertThat(errorsOf(rules("""
                      - name: local
                        action: acept
                """))).containsExactly("rules.yaml:5:17: unknown action 'acept' (expected accept, reject or pend)");
        assertThat(errorsOf("listeners:\n  demo:\n    default: ACCEPT\n"))
                .containsExactly("rules.yaml:3:14: unknown action 'ACCEPT' (expected accept, reject or pend)");
    }

    @Test
    void unknownListNamesTheKnownOnes() {
        assertThat(errorsOf("""
                lists:
                  office: [192.0.2.0/24]
                  blocked: [203.0.113.0/24]
                listeners:
                  demo:
                    rules:
                      - name: office
                        source: [list:ofice]
                        action: accept
                      - name: others
                        source:
                          - 10.0.0.0/8
                          - "!list:blokced"
                        action: reject
                    default: reject
                """)).containsExactly(
                "rules.yaml:8:18: unknown list 'ofice' (known: office, blocked)",
                "rules.yaml:13:13: unknown list 'blokced' (known: office, blocked)");
        assertThat(errorsOf(rules("""
                      - name: office
                        source: [list:office]
                        action: accept
                """))).containsExactly("rules.yaml:5:18: unknown list 'office' (no lists are defined under 'lists')");
    }

    @Test
    void badAddressesInRulesAndLists() {
        assertThat(errorsOf("""
                lists:
                  office: [192.0.2.0/33, 2001:db8::1/32]
                  home:
                    - garbage
                    - 010.1.2.3
                listeners:
                  demo:
                    rules:
                      - name: wide
                        source: [10.0.0.1/8, fe80::1%eth0]
                        action: accept
                    default: reject
                """)).containsExactly(
                "rules.yaml:2:12: prefix /33 is out of range for IPv4 (0-32) in '192.0.2.0/33'",
                "rules.yaml:2:26: host bits set in '2001:db8::1/32' (did you mean 2001:db8::/32?)",
                "rules.yaml:4:7: 'garbage' is not an IPv4/IPv6 address or CIDR",
                "rules.yaml:5:7: leading zeros are not allowed in IPv4 address '010.1.2.3' (some tools read them as octal)",
                "rules.yaml:10:18: host bits set in '10.0.0.1/8' (did you mean 10.0.0.0/8?)",
                "rules.yaml:10:30: zone ids are not allowed in addresses: 'fe80::1%eth0'");
    }

    @Test
    void sourceEntriesThatCannotWork() {
        assertThat(errorsOf("""
                lists:
                  office: [192.0.2.0/24]
                listeners:
                  demo:
                    rules:
                      - name: a
                        source: []
                        action: accept
                      - name: b
                        source: ["!10.0.0.0/8", "list:"]
                        action: accept
                      - name: c
                        source:
                          - !list:office
                        action: accept
                    default: reject
                """)).containsExactly(
                "rules.yaml:7:17: empty 'source' list: the rule could never match (leave 'source' out to match any address)",
                "rules.yaml:10:18: only lists can be negated: write \"!list:NAME\", not '!10.0.0.0/8'",
                "rules.yaml:10:33: missing list name after 'list:'",
                "rules.yaml:14:13: YAML reads !list:office as a tag; quote the entry: \"!list:office\"");
    }

    @Test
    void listsHoldOnlyAddresses() {
        assertThat(errorsOf("""
                lists:
                  office: [192.0.2.0/24]
                  all: [list:office]
                  blocked: {file: ./blocked.txt}
                  bad name: [10.0.0.0/8]
                  scalar: 10.0.0.0/8
                listeners: {}
                """)).containsExactly(
                "rules.yaml:3:9: a list holds addresses, CIDRs or JA4 fingerprints; it cannot refer to another list ('list:office')",
                "rules.yaml:4:19: cannot read list file 'blocked.txt': no such file",
                "rules.yaml:5:3: invalid list name 'bad name' (use letters, digits, '.', '_' and '-')",
                "rules.yaml:6:11: expected a list, got a string");
    }

    // ---- names ---------------------------------------------------------------------------------

    @Test
    void duplicateRuleName() {
        assertThat(errorsOf(rules("""
                      - name: local
                        source: [127.0.0.1]
                        action: accept
                      - name: local
                        source: ["::1"]
                        action: accept
                """))).containsExactly("rules.yaml:7:15: duplicate rule name 'local' (first at line 4)");
    }

    @Test
    void reservedRuleNames() {
        assertThat(errorsOf(rules("""
                      - name: default
                        source: [127.0.0.1]
                        action: accept
                      - name: ""
                        action: accept
                """))).containsExactly(
                "rules.yaml:4:15: rule name 'default' is reserved (verdicts use it when no rule decides)",
                "rules.yaml:7:15: empty rule name");
    }

    @Test
    void duplicateListAndListenerNames() {
        assertThat(errorsOf("""
                lists:
                  office: [192.0.2.0/24]
                  blocked: [203.0.113.0/24]
                  office: [198.51.100.0/24]
                listeners:
                  demo:
                    default: reject
                  demo:
                    default: accept
                """)).containsExactly(
                "rules.yaml:4:3: duplicate list 'office' (first defined at line 2)",
                "rules.yaml:8:3: duplicate listener 'demo' (first defined at line 6)");
    }

    // ---- reachability --------------------------------------------------------------------------

    @Test
    void ruleAfterACatchAllCanNeverMatch() {
        assertThat(errorsOf(rules("""
                      - name: everyone
                        action: accept
                      - name: local
                        source: [127.0.0.1]
                        action: reject
                      - name: late
                        action: pend
                """))).containsExactly(
                "rules.yaml:6:9: rule 'local' can never match: rule 'everyone' at line 4 matches every connection first",
                "rules.yaml:9:9: rule 'late' can never match: rule 'everyone' at line 4 matches every connection first");
    }

    @Test
    void aSourceCoveringBothFamiliesIsACatchAll() {
        assertThat(errorsOf(rules("""
                      - name: anywhere
                        source: [0.0.0.0/1, 128.0.0.0/1, "::/0"]
                        action: reject
                      - name: local
                        source: [127.0.0.1]
                        action: accept
                """))).containsExactly(
                "rules.yaml:7:9: rule 'local' can never match: rule 'anywhere' at line 4 matches every connection first");
    }

    @Test
    void aSourceCoveringOneFamilyIsNotACatchAll() throws PolicyException {
        Policy policy = Policy.parse(rules("""
                      - name: any-ipv4
                        source: [0.0.0.0/0]
                        action: reject
                      - name: local6
                        source: ["::1"]
                        action: accept
                """), "rules.yaml");

        assertThat(policy.listener("demo").orElseThrow().ruleNames()).containsExactly("any-ipv4", "local6");
    }

    // ---- many errors ---------------------------------------------------------------------------

    @Test
    void reportsAllErrorsInFileOrder() {
        assertThat(errorsOf("""
                listeners:
                  demo:
                    rules:
                      - name: a
                        source: [10.0.0.1/8]
                        action: acept
                    default: rejct
                lists:
                  office: [garbage]
                """)).containsExactly(
                "rules.yaml:5:18: host bits set in '10.0.0.1/8' (did you mean 10.0.0.0/8?)",
                "rules.yaml:6:17: unknown action 'acept' (expected accept, reject or pend)",
                "rules.yaml:7:14: unknown action 'rejct' (expected accept, reject or pend)",
                "rules.yaml:9:12: 'garbage' is not an IPv4/IPv6 address or CIDR");
    }

    @Test
    void stopsAfterFiftyErrors() {
        StringBuilder yaml = new StringBuilder("lists:\n  bad:\n");
        for (int i = 0; i < 200; i++) {
            yaml.append("    - bad").append(i).append('\n');
        }
        yaml.append("listeners: {}\n");

        List<String> errors = errorsOf(yaml.toString());

        assertThat(errors).hasSize(YamlLimits.MAX_ERRORS + 1);
        assertThat(errors.get(0)).isEqualTo("rules.yaml:3:7: 'bad0' is not an IPv4/IPv6 address or CIDR");
        assertThat(errors.get(49)).isEqualTo("rules.yaml:52:7: 'bad49' is not an IPv4/IPv6 address or CIDR");
        assertThat(errors.get(50)).isEqualTo("rules.yaml:53:7: too many errors; stopped after the first 50");
    }

    @Test
    void anAliasedSourceIsCompiledAndReportedOnce() {
        assertThat(errorsOf("""
                listeners:
                  demo:
                    rules:
                      - name: a
                        source: &bad [10.0.0.1/8]
                        action: accept
                      - name: b
                        source: *bad
                        action: reject
                    default: reject
                """)).containsExactly("rules.yaml:5:23: host bits set in '10.0.0.1/8' (did you mean 10.0.0.0/8?)");
    }
}
