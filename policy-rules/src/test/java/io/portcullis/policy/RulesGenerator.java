package io.portcullis.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * Writes a {@code rules.yaml} (flow style, so that any nesting is valid YAML) and a list file from
 * {@link GeneratedRulesFuzzTest.Choices}: mostly known keys with right or nearly right values, sometimes
 * anything, so that the validators see almost-valid policies. Bounded: a few lists, listeners and rules.
 */
final class RulesGenerator {

    private static final String[] RULE_KEYS = {"name", "source", "port", "sni", "alpn", "tls-fingerprint",
        "pp-authority", "pp-tlv", "time", "action", "decision", "timeout", "route", "rate-limit", "concurrency-limit",
        "mode", "source-port"};
    private static final String[] SOURCES = {"10.0.0.0/8", "192.0.2.1", "::1", "2001:db8::/32", "::ffff:10.0.0.0/104",
        "0.0.0.0/0", "list:office", "!list:office", "list:bots", "list:file", "!list:file", "list:", "!10.0.0.1",
        "10.0.0.1/33", "10.0.0.1/8", "fe80::1%eth0", "010.0.0.1"};
    private static final String[] PORTS = {"5432", "8000-8100", "0", "65535", "65536", "9-1", "1 - 2", "-1"};
    private static final String[] NAMES = {"db.example.com", "*.example.com", "none", "EXAMPLE.com", "*.", "a..b",
        "-a.com", "*.*.example.com"};
    private static final String[] ALPNS = {"h2", "http/1.1", "none", ""};
    private static final String[] FINGERPRINTS = {"t13d1516h2_8daaf6152771_e5627efa2ab1", "list:bots",
        "list:office", "list:file", "none", "t13d_bad", "!t13d1516h2_8daaf6152771_e5627efa2ab1"};
    private static final String[] TLV_TYPES = {"0xEA", "234", "0", "255", "256", "0x100", "x"};
    private static final String[] TLV_VALUES = {"vpce-0123abcd", "hex:00ff", "hex:0F", "hex:0", "", "é"};
    private static final String[] DAYS = {"mon-fri", "sun", "fri-mon", "funday", "mon-", "Monday"};
    private static final String[] TIMES = {"07:00", "19:00", "00:00", "24:00", "25:00", "7:5"};
    private static final String[] ZONES = {"UTC", "Europe/Berlin", "Europe/Berln", "Mars/Base", "+02:00"};
    private static final String[] ACTIONS = {"accept", "reject", "pend", "acept"};
    private static final String[] DURATIONS = {"300ms", "2s", "1m", "1h", "0s", "1x", "9999999999s"};
    private static final String[] POOLS = {"api", "replicas", "Bad_Pool", ""};
    private static final String[] LIMIT_KEYS = {"source-ip", "source-cidr/24", "source-cidr/64", "listener",
        "source-cidr/129", "source-cidr/"};
    private static final String[] RATES = {"10/s", "5/m", "0/s", "1/h", "1000000000/s"};
    private static final String[] COUNTS = {"1", "20", "0", "999999999", "-5"};
    private static final String[] MODES = {"enforce", "shadow", "shdow"};
    private static final String[] LIST_LINES = {"10.0.0.0/8", "192.0.2.1 # one", "2001:db8:bad::/48", "# comment",
        "", "t13d1516h2_8daaf6152771_e5627efa2ab1", "10.0.0.1/33", "bad entry", "  ::1  "};

    private final GeneratedRulesFuzzTest.Choices in;
    private final StringBuilder listFile = new StringBuilder();
    private int anchors;

    RulesGenerator(GeneratedRulesFuzzTest.Choices in) {
        this.in = in;
    }

    /** The list file (written once {@link #rules} has run). */
    String listFile() {
        return listFile.toString();
    }

    String rules() {
        int lines = in.pick(6);
        for (int i = 0; i < lines; i++) {
            listFile.append(in.pick(8) == 0 ? in.text(40) : pick(LIST_LINES)).append('\n');
        }
        List<String> top = new ArrayList<>();
        if (in.pick(4) != 0) {
            top.add("lists: " + lists());
        }
        if (in.pick(16) != 0) {
            top.add("listeners: " + listeners());
        }
        if (in.pick(8) == 0) {
            top.add(scalar(in.text(10)) + ": " + any(2));
        }
        return "{" + String.join(", ", top) + "}\n";
    }

    private String lists() {
        List<String> lists = new ArrayList<>();
        lists.add("office: " + seq(SOURCES, 3));
        if (in.pick(2) == 0) {
            lists.add("bots: " + seq(FINGERPRINTS, 2));
        }
        if (in.pick(2) == 0) {
            lists.add("file: {file: " + scalar(in.pick(6) == 0 ? in.text(20) : "list.txt") + "}");
        }
        if (in.pick(6) == 0) {
            lists.add(scalar(in.text(12)) + ": " + any(2));
        }
        return "{" + String.join(", ", lists) + "}";
    }

    private String listeners() {
        List<String> listeners = new ArrayList<>();
        int n = 1 + in.pick(3);
        for (int i = 0; i < n; i++) {
            String name = in.pick(8) == 0 ? scalar(in.text(8)) : "l" + in.pick(3);
            List<String> keys = new ArrayList<>();
            if (in.pick(4) != 0) {
                List<String> rules = new ArrayList<>();
                int count = in.pick(5);
                for (int r = 0; r < count; r++) {
                    rules.add(rule());
                }
                keys.add("rules: " + anchored("[" + String.join(", ", rules) + "]"));
            }
            if (in.pick(8) != 0) {
                keys.add("default: " + value(ACTIONS));
            }
            listeners.add(name + ": {" + String.join(", ", keys) + "}");
        }
        return "{" + String.join(", ", listeners) + "}";
    }

    private String rule() {
        List<String> keys = new ArrayList<>();
        keys.add("name: " + (in.pick(10) == 0 ? scalar(in.text(8)) : "r" + in.pick(4)));
        int n = in.pick(5);
        for (int i = 0; i < n; i++) {
            String key = in.pick(20) == 0 ? scalar(in.text(10)) : RULE_KEYS[1 + in.pick(RULE_KEYS.length - 1)];
            keys.add(key + ": " + (in.pick(12) == 0 ? any(3) : value(key)));
        }
        if (in.pick(3) != 0) {
            keys.add("action: " + value(ACTIONS));
        }
        return anchored("{" + String.join(", ", keys) + "}");
    }

    private String value(String key) {
        return switch (key) {
            case "source" -> anchored(seq(SOURCES, 3));
            case "port" -> seq(PORTS, 3);
            case "sni", "pp-authority" -> seq(NAMES, 3);
            case "alpn" -> seq(ALPNS, 2);
            case "tls-fingerprint" -> seq(FINGERPRINTS, 2);
            case "pp-tlv" -> in.pick(3) == 0 ? "[" + tlv() + ", " + tlv() + "]" : tlv();
            case "time" -> map(new String[] {"days", "from", "to", "zone"},
                    new String[][] {null, TIMES, TIMES, ZONES}, DAYS);
            case "action" -> value(ACTIONS);
            case "decision" -> value(new String[] {"authz", "bad name", ""});
            case "timeout" -> value(DURATIONS);
            case "route" -> value(POOLS);
            case "rate-limit" -> map(new String[] {"key", "rate", "burst"}, new String[][] {LIMIT_KEYS, RATES, COUNTS}, null);
            case "concurrency-limit" -> map(new String[] {"key", "max"}, new String[][] {LIMIT_KEYS, COUNTS}, null);
            case "mode" -> value(MODES);
            case "source-port" -> seq(new String[] {"1-1023", "2049", "70000", "x"}, 2);
            default -> any(2);
        };
    }

    private String tlv() {
        return map(new String[] {"type", "values"}, new String[][] {TLV_TYPES, null}, TLV_VALUES);
    }

    /** A mapping of some of {@code keys}; a key whose values are null takes a list of {@code listValues}. */
    private String map(String[] keys, String[][] values, String[] listValues) {
        List<String> entries = new ArrayList<>();
        for (int i = 0; i < keys.length; i++) {
            if (in.pick(4) != 0) {
                entries.add(keys[i] + ": " + (values[i] == null ? seq(listValues, 3) : value(values[i])));
            }
        }
        return anchored("{" + String.join(", ", entries) + "}");
    }

    private String seq(String[] values, int max) {
        List<String> items = new ArrayList<>();
        int n = in.pick(max + 1);
        for (int i = 0; i < n; i++) {
            items.add(value(values));
        }
        return "[" + String.join(", ", items) + "]";
    }

    /** Mostly one of {@code values}, sometimes anything, an alias, or an empty value. */
    private String value(String[] values) {
        int how = in.pick(24);
        if (how == 0) {
            return scalar(in.text(30));
        }
        if (how == 1 && anchors > 0) {
            return "*a" + in.pick(anchors);
        }
        if (how == 2) {
            return "";
        }
        return scalar(pick(values));
    }

    /** A node with an anchor now and then, for aliases to refer to. */
    private String anchored(String node) {
        if (in.pick(6) != 0) {
            return node;
        }
        return "&a" + anchors++ + " " + node;
    }

    /** Any small node: a scalar, a list or a mapping. */
    private String any(int depth) {
        int kind = depth == 0 ? 0 : in.pick(3);
        if (kind == 0) {
            return scalar(in.text(20));
        }
        List<String> items = new ArrayList<>();
        int n = in.pick(3);
        for (int i = 0; i < n; i++) {
            items.add(kind == 1 ? any(depth - 1) : scalar(in.text(6)) + ": " + any(depth - 1));
        }
        return kind == 1 ? "[" + String.join(", ", items) + "]" : "{" + String.join(", ", items) + "}";
    }

    private String pick(String[] values) {
        return values[in.pick(values.length)];
    }

    /** Plain when that reads back as the same string, else double-quoted with escapes. */
    static String scalar(String text) {
        if (text.matches("[A-Za-z0-9][A-Za-z0-9._/-]*") && !text.matches("(?i)y|n|yes|no|true|false|on|off|null")) {
            return text;
        }
        StringBuilder quoted = new StringBuilder("\"");
        text.codePoints().forEach(c -> {
            if (c == '"' || c == '\\') {
                quoted.append('\\').appendCodePoint(c);
            } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || (c >= 0xd800 && c <= 0xdfff)
                    || c == 0xfeff || c == 0xfffe || c == 0xffff) {
                quoted.append(String.format("\\u%04x", c));
            } else {
                quoted.appendCodePoint(c);
            }
        });
        return quoted.append('"').toString();
    }
}
