package io.portcullis.policy.yaml;

import io.portcullis.policy.Policy;
import io.portcullis.policy.PolicyError;
import io.portcullis.policy.PolicyException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.portcullis.policy.yaml.PolicyErrorsTest.errorsOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Malformed, hostile and unreadable input: a clear error with a position, never a crash or a hang. */
class YamlSafetyTest {

    @Test
    void emptyFileIsAClearError() {
        assertThat(errorsOf("")).containsExactly("rules.yaml:1:1: the policy is empty (expected a mapping with 'listeners')");
        assertThat(errorsOf("# only a comment\n\n"))
                .containsExactly("rules.yaml:1:1: the policy is empty (expected a mapping with 'listeners')");
    }

    @Test
    void syntaxErrorsCarrySnakeYamlsPosition() {
        assertThat(errorsOf("listeners: [demo\n")).containsExactly(
                "rules.yaml:2:1: invalid YAML: expected ',' or ']', but got <stream end>"
                        + " (while parsing a flow sequence started at line 1, column 12)");
        assertThat(errorsOf("listeners:\n  demo:\n    default: reject\n  - x\n")).containsExactly(
                "rules.yaml:4:3: invalid YAML: expected <block end>, but found '-'"
                        + " (while parsing a block mapping started at line 2, column 3)");
        assertThat(errorsOf("listeners:\n  demo:\n  default: reject\n    rules: []\n"))
                .containsExactly("rules.yaml:4:10: invalid YAML: mapping values are not allowed here");
        assertThat(errorsOf("listeners:\n  demo:\n\tdefault: reject\n")).singleElement().asString()
                .startsWith("rules.yaml:3:1: invalid YAML: found character '\\t(TAB)' that cannot start any token");
    }

    @Test
    void unquotedIpv6InAFlowListGetsAHint() {
        assertThat(errorsOf("""
                listeners:
                  demo:
                    rules:
                      - name: a
                        source: [::1]
                        action: accept
                    default: reject
                """)).containsExactly("rules.yaml:5:18: invalid YAML: expected the node content, but found ':'"
                + " (while parsing a flow node started at line 5, column 18); quote IPv6 addresses that start with"
                + " '::', e.g. \"::1\"");
    }

    @Test
    void moreThanOneDocumentIsRefused() {
        assertThat(errorsOf("listeners: {}\n---\nlisteners: {}\n")).containsExactly(
                "rules.yaml:2:1: invalid YAML: expected a single document in the stream but found another document");
    }

    @Test
    void undefinedAliasAndControlCharacters() {
        assertThat(errorsOf("listeners: *nothing\n"))
                .containsExactly("rules.yaml:1:12: invalid YAML: found undefined alias nothing");
        assertThat(errorsOf("listeners: {}\nx: \u0001\n"))
                .containsExactly("rules.yaml:2:4: invalid YAML: character U+0001 is not allowed");
    }

    @Test
    @Timeout(10)
    void billionLaughsIsRefusedAtTheAliasOverTheBound() {
        StringBuilder yaml = new StringBuilder("lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (int level = 1; level < 10; level++) {
            yaml.append("lol").append(level).append(": &l").append(level).append(" [");
            for (int i = 0; i < 9; i++) {
                yaml.append(i == 0 ? "" : ", ").append("*l").append(level - 1);
            }
            yaml.append("]\n");
        }
        yaml.append("listeners: {}\n");

        // 9 aliases a line from line 2: the 51st is the 6th alias of line 7, at column 12 + 5 * 5
        assertThat(errorsOf(yaml.toString())).containsExactly("rules.yaml:7:37: more than 50 aliases to lists or"
                + " mappings; refusing the file (such aliases can expand without bound)");
    }

    @Test
    @Timeout(10)
    void deepNestingIsRefused() {
        String yaml = "listeners: " + "[".repeat(60) + "]".repeat(60) + "\n";

        // the root mapping is level 1, so the 50th '[' (column 12 + 49) is level 51
        assertThat(errorsOf(yaml)).containsExactly("rules.yaml:1:61: lists and mappings nested deeper than 50 levels");
    }

    @Test
    @Timeout(10)
    void aRecursiveListIsAnErrorNotAHang() {
        assertThat(errorsOf("""
                listeners:
                  demo:
                    rules:
                      - name: a
                        source: &s [10.0.0.0/8, *s]
                        action: accept
                    default: reject
                """)).containsExactly("rules.yaml:5:17: expected a string, got a list");
    }

    @Test
    void longValuesAreCutShortInMessages() {
        String action = "a".repeat(100_000);
        String key = "k".repeat(100_000);
        String names = "x'".repeat(200_000); // quotes of its own: the hard cut still holds

        List<String> errors = errorsOf("listeners:\n  demo:\n    default: " + action + "\n    ? " + key
                + "\n    : 1\n    rules: [{name: \"" + names + "\"}]\n");

        assertThat(errors).containsExactly(
                "rules.yaml:3:14: unknown action '" + "a".repeat(60) + "…(100000 characters)' (expected accept,"
                        + " reject or pend)",
                "rules.yaml:4:7: unknown key '" + "k".repeat(60) + "…(100000 characters)' in a listener (expected one"
                        + " of: rules, default)",
                errors.get(2));
        assertThat(errors.get(2)).startsWith("rules.yaml:6:13: missing required key 'action' in rule 'x'x'")
                .contains("more characters)…").endsWith(" (or a limiter: 'rate-limit' or 'concurrency-limit')");
        assertThat(errors.get(2).length()).isLessThanOrEqualTo("rules.yaml:6:13: ".length() + YamlLimits.MAX_MESSAGE);
    }

    @Test
    void fewAliasesAreFine() throws PolicyException {
        Policy policy = Policy.parse("""
                listeners:
                  a:
                    rules:
                      - name: local
                        source: &local [127.0.0.1, "::1"]
                        action: accept
                    default: reject
                  b:
                    rules:
                      - name: local
                        source: *local
                        action: accept
                    default: reject
                """, "aliases.yaml");

        assertThat(policy.listenerNames()).containsExactly("a", "b");
    }

    @Test
    void byteOrderMarkIsIgnored() throws PolicyException {
        assertThat(Policy.parse("\uFEFFlisteners: {}\n", "bom.yaml").listenerNames()).isEmpty();
    }

    // ---- files ---------------------------------------------------------------------------------

    @Test
    void loadNamesTheFileInErrors(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("rules.yaml");
        Files.writeString(file, "listeners:\n  demo:\n    default: acept\n");

        PolicyException e = catchThrowableOfType(PolicyException.class, () -> Policy.load(file));

        assertThat(e.getMessage()).isEqualTo(file + ":3:14: unknown action 'acept' (expected accept, reject or pend)");
        assertThat(e.errors()).containsExactly(new PolicyError(file.toString(), 3, 14,
                "unknown action 'acept' (expected accept, reject or pend)"));
    }

    @Test
    void missingFileIsAPolicyError(@TempDir Path dir) {
        Path file = dir.resolve("absent.yaml");

        PolicyException e = catchThrowableOfType(PolicyException.class, () -> Policy.load(file));

        assertThat(e.getMessage()).isEqualTo(file + ":1:1: cannot read the policy file: no such file");
    }

    @Test
    void fileOverTheSizeBoundIsRefusedUnread(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("huge.yaml");
        try (RandomAccessFile sparse = new RandomAccessFile(file.toFile(), "rw")) {
            sparse.setLength(YamlLimits.MAX_SIZE + 1L);
        }

        PolicyException e = catchThrowableOfType(PolicyException.class, () -> Policy.load(file));

        assertThat(e.getMessage()).isEqualTo(file + ":1:1: the policy file is larger than 16 MiB; refusing to read it"
                + " (move large address lists to list files)");
    }

    @Test
    void invalidUtf8IsReportedWhereItIs(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("latin1.yaml");
        byte[] head = "listeners:\n  caf".getBytes(StandardCharsets.US_ASCII);
        byte[] tail = ":\n    default: reject\n".getBytes(StandardCharsets.US_ASCII);
        byte[] bytes = new byte[head.length + 1 + tail.length];
        System.arraycopy(head, 0, bytes, 0, head.length);
        bytes[head.length] = (byte) 0xE9; // 'é' in Latin-1
        System.arraycopy(tail, 0, bytes, head.length + 1, tail.length);
        Files.write(file, bytes);

        PolicyException e = catchThrowableOfType(PolicyException.class, () -> Policy.load(file));

        assertThat(e.errors()).extracting(PolicyError::line, PolicyError::column, PolicyError::message)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(2, 6, "not valid UTF-8: byte 0xE9"));
    }

    @Test
    void utf8NamesKeepTheirColumns(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("utf8.yaml");
        Files.writeString(file, "listeners:\n  café: {default: acept}\n", StandardCharsets.UTF_8);

        PolicyException e = catchThrowableOfType(PolicyException.class, () -> Policy.load(file));

        assertThat(e.errors()).extracting(PolicyError::line, PolicyError::column)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(2, 19));
    }

    @Test
    void policyErrorFormatsLikeACompiler() {
        assertThat(new PolicyError("rules.yaml", 14, 9, "unknown list 'ofice' (known: office, blocked)"))
                .hasToString("rules.yaml:14:9: unknown list 'ofice' (known: office, blocked)");
        assertThat(new PolicyException(List.of(new PolicyError("a.yaml", 1, 2, "x"), new PolicyError("a.yaml", 3, 4, "y"))))
                .hasMessage("a.yaml:1:2: x\na.yaml:3:4: y");
    }
}
