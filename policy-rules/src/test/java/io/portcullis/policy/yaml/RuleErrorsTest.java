package io.portcullis.policy.yaml;

import org.junit.jupiter.api.Test;

import static io.portcullis.policy.Errors.errorsOf;
import static io.portcullis.policy.Errors.rules;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The errors of the matches, actions, limiters and modes of a rule, each with the exact
 * file:line:column it is reported at. (Rule lines start at line 4: "listeners", "demo", "rules".)
 */
class RuleErrorsTest {

    // ---- port ----------------------------------------------------------------------------------

    @Test
    void badPortsAndRanges() {
        assertThat(errorsOf(rules("""
                      - name: db
                        port: [0, 65536, http, "8100-8000", "1-2-3", "80 - 81", 443]
                        action: accept
                      - name: none
                        port: []
                        action: accept
                """))).containsExactly(
                "rules.yaml:5:16: bad port '0' (expected a port 1-65535 or a range like \"8000-8100\")",
                "rules.yaml:5:19: bad port '65536' (expected a port 1-65535 or a range like \"8000-8100\")",
                "rules.yaml:5:26: bad port 'http' (expected a port 1-65535 or a range like \"8000-8100\")",
                "rules.yaml:5:32: bad port range '8100-8000' (the first port is after the last)",
                "rules.yaml:5:45: bad port '1-2-3' (expected a port 1-65535 or a range like \"8000-8100\")",
                "rules.yaml:8:15: empty 'port' list: the rule could never match (leave 'port' out to match any port)");
    }

    // ---- sni and alpn --------------------------------------------------------------------------

    @Test
    void badServerNamesAndProtocols() {
        assertThat(errorsOf(rules("""
                      - name: web
                        sni: ["*", "a.*.com", "exa mple.com", "-x.com", "*.example.com", "x..com"]
                        alpn: ["", h2]
                        action: accept
                """))).containsExactly(
                "rules.yaml:5:15: bad server name '*' (expected a name like db.example.com, a wildcard like"
                        + " \"*.example.com\", or none)",
                "rules.yaml:5:20: bad server name 'a.*.com' (expected a name like db.example.com, a wildcard like"
                        + " \"*.example.com\", or none)",
                "rules.yaml:5:31: bad server name 'exa mple.com' (expected a name like db.example.com, a wildcard"
                        + " like \"*.example.com\", or none)",
                "rules.yaml:5:47: bad server name '-x.com' (expected a name like db.example.com, a wildcard like"
                        + " \"*.example.com\", or none)",
                "rules.yaml:5:74: bad server name 'x..com' (expected a name like db.example.com, a wildcard like"
                        + " \"*.example.com\", or none)",
                "rules.yaml:6:16: bad ALPN protocol '' (expected an id of 1-255 bytes such as h2 or http/1.1, or none)");
    }

    @Test
    void anUnquotedWildcardGetsAHint() {
        assertThat(errorsOf(rules("""
                      - name: web
                        sni: [*.example.com]
                        action: accept
                """))).containsExactly("rules.yaml:5:16: invalid YAML: unexpected character found .(46) (while scanning"
                + " an alias started at line 5, column 15); quote wildcard server names, e.g. \"*.example.com\" (YAML"
                + " reads * as an alias)");
    }

    // ---- time ----------------------------------------------------------------------------------

    @Test
    void badDaysTimesAndZones() {
        assertThat(errorsOf(rules("""
                      - name: office
                        time: {days: [mon-fir, mnday, weekend, sat], from: "7pm", to: "25:00", zone: Europe/Berln}
                        action: accept
                      - name: night
                        time: {zone: Mars/Olympus, from: "24:00", to: "24:00"}
                        action: accept
                """))).containsExactly(
                "rules.yaml:5:23: bad day 'mon-fir' (did you mean 'fri'?)",
                "rules.yaml:5:32: bad day 'mnday' (expected mon, tue, wed, thu, fri, sat or sun, or a range like mon-fri)",
                "rules.yaml:5:39: bad day 'weekend' (expected mon, tue, wed, thu, fri, sat or sun, or a range like mon-fri)",
                "rules.yaml:5:60: bad time '7pm' (expected HH:MM, e.g. 07:00 or 19:30)",
                "rules.yaml:5:71: bad time '25:00' (expected HH:MM, e.g. 07:00 or 19:30, or 24:00 for the end of the day)",
                "rules.yaml:5:86: unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?)",
                "rules.yaml:8:22: unknown time zone 'Mars/Olympus' (expected an IANA zone such as Europe/Berlin or"
                        + " America/New_York, or UTC)",
                "rules.yaml:8:42: bad time '24:00' (expected HH:MM, e.g. 07:00 or 19:30)");
    }

    @Test
    void emptyAndUnknownTimeKeys() {
        assertThat(errorsOf(rules("""
                      - name: a
                        time: {}
                        action: accept
                      - name: b
                        time: {days: []}
                        action: accept
                      - name: c
                        time: {form: "07:00", to: "08:00"}
                        action: accept
                      - name: d
                        time: {from: "07:00", to: "07:00"}
                        action: accept
                      - name: e
                        time: [mon]
                        action: accept
                """))).containsExactly(
                "rules.yaml:5:15: empty 'time' window: give 'days', 'from' and 'to' (leave 'time' out to match at any time)",
                "rules.yaml:8:22: empty 'days' list: the window would never open (leave 'days' out for every day)",
                "rules.yaml:11:16: unknown key 'form' (did you mean 'from'?)",
                "rules.yaml:14:35: 'from' and 'to' are the same time: the window would be empty (leave both out for"
                        + " the whole day)",
                "rules.yaml:17:15: expected a mapping, got a list");
    }

    // ---- actions -------------------------------------------------------------------------------

    @Test
    void badDurations() {
        assertThat(errorsOf(rules("""
                      - name: a
                        action: pend
                        timeout: 5x
                      - name: b
                        action: pend
                        timeout: 2
                      - name: c
                        action: pend
                        timeout: 0s
                      - name: d
                        action: pend
                        timeout: 1.5s
                """))).containsExactly(
                "rules.yaml:6:18: bad duration '5x' (expected e.g. 300ms, 2s, 1m)",
                "rules.yaml:9:18: bad duration '2' (expected e.g. 300ms, 2s, 1m)",
                "rules.yaml:12:18: bad duration '0s' (expected more than 0, e.g. 300ms, 2s, 1m)",
                "rules.yaml:15:18: bad duration '1.5s' (expected e.g. 300ms, 2s, 1m)");
    }

    @Test
    void decisionAndTimeoutNeedPend() {
        assertThat(errorsOf(rules("""
                      - name: a
                        source: [10.0.0.1]
                        action: accept
                        decision: authz
                      - name: b
                        source: [10.0.0.2]
                        action: reject
                        timeout: 2s
                      - name: c
                        rate-limit: {rate: 1/s}
                        decision: authz
                        timeout: 1s
                      - name: d
                        action: pend
                        decision: "no good"
                """))).containsExactly(
                "rules.yaml:7:9: 'decision' applies to 'action: pend' only (rule 'a' has action: accept)",
                "rules.yaml:11:9: 'timeout' applies to 'action: pend' only (rule 'b' has action: reject)",
                "rules.yaml:14:9: 'decision' applies to 'action: pend' only (rule 'c' is a limiter rule)",
                "rules.yaml:15:9: 'timeout' applies to 'action: pend' only (rule 'c' is a limiter rule)",
                "rules.yaml:18:19: invalid decision service name 'no good' (use letters, digits, '.', '_' and '-')");
    }

    @Test
    void routeNeedsAcceptOrPendAndAPoolName() {
        assertThat(errorsOf(rules("""
                      - name: a
                        source: [10.0.0.1]
                        action: reject
                        route: api
                      - name: b
                        rate-limit: {rate: 1/s}
                        route: api
                      - name: c
                        action: accept
                        route: "API"
                      - name: d
                        action: pend
                        route: [api]
                      - name: e
                        action: accept
                        route: "api pool"
                      - name: f
                        action: accept
                        route: ""
                """))).containsExactly(
                "rules.yaml:7:9: 'route' applies to 'action: accept' and 'action: pend' only (rule 'a' has action:"
                        + " reject, and a rejected connection goes nowhere)",
                "rules.yaml:10:9: 'route' applies to 'action: accept' and 'action: pend' only (rule 'b' is a limiter rule)",
                "rules.yaml:13:16: invalid route 'API' (a backend pool's name: lower-case letters, digits and '-',"
                        + " starting with a letter or digit, at most 63)",
                "rules.yaml:16:16: expected a string, got a list",
                "rules.yaml:19:16: invalid route 'api pool' (a backend pool's name: lower-case letters, digits and '-',"
                        + " starting with a letter or digit, at most 63)",
                "rules.yaml:22:16: invalid route '' (a backend pool's name: lower-case letters, digits and '-',"
                        + " starting with a letter or digit, at most 63)");
    }

    @Test
    void aRuleNeedsAnActionOrALimiterButNotBoth() {
        assertThat(errorsOf(rules("""
                      - name: nothing
                        source: [10.0.0.1]
                      - name: both
                        action: accept
                        rate-limit: {rate: 1/s}
                      - name: two-limiters
                        rate-limit: {rate: 1/s}
                        concurrency-limit: {max: 1}
                """))).containsExactly(
                "rules.yaml:4:9: missing required key 'action' in rule 'nothing' (or a limiter: 'rate-limit' or"
                        + " 'concurrency-limit')",
                "rules.yaml:8:9: rule 'both' has both 'action' and 'rate-limit': a limiter rule takes no action (it"
                        + " rejects past its bound and passes other connections on to the next rule); put the action in"
                        + " a rule of its own",
                "rules.yaml:11:9: rule 'two-limiters' has both 'rate-limit' and 'concurrency-limit'; give each"
                        + " limiter a rule of its own");
    }

    @Test
    void unknownMode() {
        assertThat(errorsOf(rules("""
                      - name: a
                        action: accept
                        mode: shdow
                """))).containsExactly("rules.yaml:6:15: unknown mode 'shdow' (expected enforce or shadow)");
    }

    // ---- limiters ------------------------------------------------------------------------------

    @Test
    void badRatesBurstsAndKeys() {
        assertThat(errorsOf(rules("""
                      - name: a
                        rate-limit: {key: source-cdr/24, rate: 10/h, burst: 0}
                      - name: b
                        rate-limit: {key: source-cidr/129, rate: 0/s}
                      - name: c
                        rate-limit: {rate: ten/s, burst: many}
                      - name: d
                        rate-limit: {key: listener}
                      - name: e
                        rate-limit: {rate: 5/s, brust: 10}
                      - name: f
                        rate-limit: {rate: 5/s, key: source-cidr/33/24}
                """))).containsExactly(
                "rules.yaml:5:27: bad limiter key 'source-cdr/24' (expected source-ip, source-cidr/N with N a prefix"
                        + " length such as 24 or 64, or listener)",
                "rules.yaml:5:48: bad rate '10/h' (expected N/s or N/m, e.g. 10/s, with N at least 1)",
                "rules.yaml:5:61: bad burst '0' (expected a whole number of at least 1)",
                "rules.yaml:7:27: bad limiter key 'source-cidr/129' (expected source-ip, source-cidr/N with N a"
                        + " prefix length such as 24 or 64, or listener)",
                "rules.yaml:7:50: bad rate '0/s' (expected N/s or N/m, e.g. 10/s, with N at least 1)",
                "rules.yaml:9:28: bad rate 'ten/s' (expected N/s or N/m, e.g. 10/s, with N at least 1)",
                "rules.yaml:9:42: bad burst 'many' (expected a whole number of at least 1)",
                "rules.yaml:11:21: missing required key 'rate' in rate-limit (e.g. rate: 10/s)",
                "rules.yaml:13:33: unknown key 'brust' (did you mean 'burst'?)",
                "rules.yaml:15:38: bad limiter key 'source-cidr/33/24' (expected source-ip, source-cidr/N with N a"
                        + " prefix length such as 24 or 64, or listener)");
    }

    @Test
    void badConcurrencyLimits() {
        assertThat(errorsOf(rules("""
                      - name: a
                        concurrency-limit: {key: source-ip}
                      - name: b
                        concurrency-limit: {max: -1}
                      - name: c
                        concurrency-limit: 20
                      - name: d
                        concurrency-limit: {max: 5, rate: 1/s}
                      - name: e
                        concurrency-limit: {key: source-cidr/24/129, max: 5}
                      - name: f
                        concurrency-limit: {key: source-cidr/-64, max: 5}
                """))).containsExactly(
                "rules.yaml:5:28: missing required key 'max' in concurrency-limit (e.g. max: 20)",
                "rules.yaml:7:34: bad max '-1' (expected a whole number of at least 1)",
                "rules.yaml:9:28: expected a mapping, got a string",
                "rules.yaml:11:37: unknown key 'rate' in a concurrency-limit (expected one of: key, max, scope, on-store-failure)",
                "rules.yaml:13:34: bad limiter key 'source-cidr/24/129' (expected source-ip, source-cidr/N with N a"
                        + " prefix length such as 24 or 64, or listener)",
                "rules.yaml:15:34: bad limiter key 'source-cidr/-64' (expected source-ip, source-cidr/N with N a"
                        + " prefix length such as 24 or 64, or listener)");
    }

    // ---- reachability --------------------------------------------------------------------------

    @Test
    void limiterAndShadowRulesAreNotCatchAllsButDecidingRulesAre() {
        assertThat(errorsOf(rules("""
                      - name: cap
                        concurrency-limit: {key: listener, max: 100}
                      - name: rate
                        rate-limit: {key: listener, rate: 100/s}
                      - name: shadow-everyone
                        action: reject
                        mode: shadow
                      - name: pend-everyone
                        time: {from: "00:00", to: "24:00"}
                        action: pend
                      - name: unreachable-limiter
                        rate-limit: {rate: 1/s}
                """))).containsExactly(
                "rules.yaml:14:9: rule 'unreachable-limiter' can never match: rule 'pend-everyone' at line 11"
                        + " matches every connection first");
    }
}
