package io.portcullis.policy;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;
import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.MatchType;
import io.portcullis.policy.rule.MatchValue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** Lists read from files: {@code blocked: {file: ./blocked.txt}}. */
class ListFilesTest {

    @TempDir
    Path dir;

    private Path rulesFile(String listFile) throws IOException {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        return Files.writeString(conf.resolve("rules.yaml"), """
                lists:
                  blocked: {file: %s}
                listeners:
                  demo:
                    rules:
                      - name: deny-blocked
                        source: [list:blocked]
                        action: reject
                    default: accept
                """.formatted(listFile));
    }

    private static String errors(Path rules) {
        PolicyException e = catchThrowableOfType(PolicyException.class, () -> Policy.load(rules));
        assertThat(e).as("the policy should have been refused").isNotNull();
        return e.getMessage();
    }

    @Test
    void aRelativePathStartsAtTheRulesFilesDirectoryAndCommentsAndBlankLinesAreSkipped() throws Exception {
        Path lists = Files.createDirectories(dir.resolve("conf/lists"));
        Files.writeString(lists.resolve("blocked.txt"), """
                # scanners, updated daily
                203.0.113.0/24   # whole network
                  198.51.100.7\r
                \t
                2001:db8:bad::/48
                # end
                192.0.2.99""");   // no newline at the end
        Path rules = rulesFile("./lists/blocked.txt");

        Policy policy = Policy.load(rules);
        ListenerPolicy demo = policy.listener("demo").orElseThrow();

        for (String blocked : new String[] {"203.0.113.200", "198.51.100.7", "2001:db8:bad:1::1", "192.0.2.99"}) {
            assertThat(demo.evaluate(Requests.from("demo", blocked))).as(blocked)
                    .isEqualTo(new Verdict(InspectAction.REJECT, "deny-blocked"));
        }
        assertThat(demo.evaluate(Requests.from("demo", "198.51.100.8")).rule()).isEqualTo("default");
        assertThat(policy.files()).containsExactly(rules.toAbsolutePath().normalize(),
                lists.resolve("blocked.txt").toAbsolutePath().normalize());
    }

    @Test
    void parsedTextResolvesListFilesAgainstTheGivenBaseDirectory() throws Exception {
        Files.writeString(dir.resolve("blocked.txt"), "10.0.0.0/8\n");
        String yaml = "lists:\n  blocked: {file: blocked.txt}\nlisteners:\n  demo:\n    rules:\n"
                + "      - name: b\n        source: [list:blocked]\n        action: reject\n    default: accept\n";

        Policy policy = Policy.parse(yaml, "inline", PolicyOptions.defaults().withBaseDirectory(dir));

        assertThat(policy.listener("demo").orElseThrow().evaluate(Requests.from("demo", "10.1.1.1")).rule()).isEqualTo("b");
        assertThat(policy.files()).containsExactly(dir.resolve("blocked.txt").toAbsolutePath().normalize());
    }

    @Test
    void badLinesAreReportedWithTheListFilesLineAndColumn() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Files.writeString(conf.resolve("blocked.txt"), """
                # header
                203.0.113.0/24
                    garbage   # indented
                10.0.0.1/8
                list:office
                2001:db8::/33x
                """);
        Path rules = rulesFile("./blocked.txt");
        String file = conf.resolve("blocked.txt").toString();

        assertThat(errors(rules)).isEqualTo(String.join("\n",
                file + ":3:5: 'garbage' is not an IPv4/IPv6 address or CIDR",
                file + ":4:1: host bits set in '10.0.0.1/8' (did you mean 10.0.0.0/8?)",
                file + ":5:1: a list holds addresses, CIDRs or JA4 fingerprints; it cannot refer to another list ('list:office')",
                file + ":6:1: '2001:db8::/33x' is not an IPv4/IPv6 address or CIDR"));
    }

    @Test
    void listFileEntriesMeanAndFailExactlyAsInlineEntriesDo() throws Exception {
        String[] entries = {"10.0.0.0/8", "0.0.0.0/0", "255.255.255.255", "192.0.2.1/32", "192.0.2.0/024",
                "::ffff:192.0.2.0/120", "1.2.3.04", "256.1.1.1", "1.2.3.4/33", "1.2.3", "1.2.3.4.5", "1.2.3.4/",
                "1.2.3.4/8", "1..2.3", "01.2.3.4", "1.2.3.4 5", "x1.2.3.4"};
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Files.writeString(conf.resolve("list.txt"), String.join("\n", entries) + "\n");
        StringBuilder inline = new StringBuilder("lists:\n  inline:\n");
        for (String entry : entries) {
            inline.append("    - \"").append(entry).append("\"\n");
        }
        inline.append("  file: {file: list.txt}\nlisteners: {}\n");
        Path rules = Files.writeString(conf.resolve("rules.yaml"), inline);

        PolicyException e = catchThrowableOfType(PolicyException.class, () -> Policy.load(rules));

        List<String> inlineMessages = e.errors().stream().filter(error -> error.file().equals(rules.toString()))
                .map(PolicyError::message).toList();
        List<String> fileMessages = e.errors().stream().filter(error -> !error.file().equals(rules.toString()))
                .map(PolicyError::message).toList();
        assertThat(inlineMessages).hasSize(11);
        assertThat(fileMessages).isEqualTo(inlineMessages);
        assertThat(e.errors().stream().filter(error -> !error.file().equals(rules.toString()))
                .map(PolicyError::line)).containsExactly(7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17);
    }

    @Test
    void aLineThatIsTooLongIsReportedAndReadingGoesOn() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Files.writeString(conf.resolve("blocked.txt"), "10.0.0.1\n# " + "x".repeat(200_000) + "\n"
                + "10.0.0.2 #" + "y".repeat(5000) + "\nbad\n10.0.0.3");
        Path rules = rulesFile("blocked.txt");
        String file = conf.resolve("blocked.txt").toString();

        assertThat(errors(rules)).isEqualTo(String.join("\n",
                file + ":2:1: line longer than 4096 bytes (one address, CIDR or fingerprint a line)",
                file + ":3:1: line longer than 4096 bytes (one address, CIDR or fingerprint a line)",
                file + ":4:1: 'bad' is not an IPv4/IPv6 address or CIDR"));
    }

    @Test
    void rulesFileErrorsComeFirstThenListFileErrors() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Files.writeString(conf.resolve("a.txt"), "bad-a\n");
        Files.writeString(conf.resolve("b.txt"), "\nbad-b\n");
        Path rules = Files.writeString(conf.resolve("rules.yaml"), """
                lists:
                  b: {file: b.txt}
                  a: {file: a.txt}
                listeners:
                  demo:
                    default: acept
                """);

        assertThat(errors(rules)).isEqualTo(String.join("\n",
                rules + ":6:14: unknown action 'acept' (expected accept, reject or pend)",
                conf.resolve("b.txt") + ":2:1: 'bad-b' is not an IPv4/IPv6 address or CIDR",
                conf.resolve("a.txt") + ":1:1: 'bad-a' is not an IPv4/IPv6 address or CIDR"));
    }

    @Test
    void aMissingListFileIsReportedWhereTheRulesFileNamesIt() throws Exception {
        Path rules = rulesFile("./missing.txt");

        assertThat(errors(rules)).isEqualTo(rules + ":2:19: cannot read list file '"
                + dir.resolve("conf/missing.txt") + "': no such file");
    }

    @Test
    void aPipeOrADirectoryAsAListFileIsRefusedWithoutWaiting() throws Exception {
        Path rules = rulesFile("./pipe");
        Path pipe = dir.resolve("conf/pipe");
        Process mkfifo = new ProcessBuilder("mkfifo", pipe.toString()).start();
        assertThat(mkfifo.waitFor()).isZero();
        // Opening a pipe for reading waits for a writer: none comes, so a load that opened it would hang here.
        assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> assertThat(errors(rules)).isEqualTo(
                rules + ":2:19: cannot read list file '" + pipe + "': not a regular file (a directory, a pipe or a device)"));
        Files.delete(pipe);
        Files.createDirectory(pipe);
        assertThat(errors(rules)).endsWith("not a regular file (a directory, a pipe or a device)");
    }

    @Test
    void aPipeAsThePolicyFileIsRefusedWithoutWaiting() throws Exception {
        Path pipe = dir.resolve("rules-pipe.yaml");
        assertThat(new ProcessBuilder("mkfifo", pipe.toString()).start().waitFor()).isZero();
        assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> assertThat(errors(pipe))
                .isEqualTo(pipe + ":1:1: cannot read the policy file: not a regular file (a directory, a pipe or a device)"));
    }

    @Test
    void aRefusedPolicyNamesTheFilesItWasReadFromMissingOnesIncluded() throws Exception {
        Path rules = rulesFile("./missing.txt");

        PolicyException e = catchThrowableOfType(PolicyException.class, () -> Policy.load(rules));

        assertThat(e.files()).extracting(FileStamp::path).containsExactly(rules.toAbsolutePath().normalize(),
                dir.resolve("conf/missing.txt").toAbsolutePath().normalize());
        assertThat(e.files().get(0).exists()).isTrue();
        assertThat(e.files().get(1)).as("absent, so its appearance is a change")
                .isEqualTo(FileStamp.of(dir.resolve("conf/missing.txt")))
                .extracting(FileStamp::exists).isEqualTo(false);
        Files.writeString(dir.resolve("conf/missing.txt"), "10.0.0.0/8\n");
        assertThat(FileStamp.of(dir.resolve("conf/missing.txt"))).isNotEqualTo(e.files().get(1));
    }

    @Test
    void aMissingRulesFileIsNamedAsAbsent() {
        Path rules = dir.resolve("nowhere.yaml");

        PolicyException e = catchThrowableOfType(PolicyException.class, () -> Policy.load(rules));

        assertThat(e.files()).containsExactly(FileStamp.of(rules));
        assertThat(e.files().get(0).exists()).isFalse();
    }

    @Test
    void eachFileIsStampedBeforeItIsRead() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Path list = Files.writeString(conf.resolve("blocked.txt"), "10.0.0.0/8\n");
        Path rules = rulesFile("./blocked.txt");
        Files.writeString(rules, Files.readString(rules).replace("action: reject", "action: reject\n        edit: x"));
        // a condition compiled after the lists were read: it edits the list file and the rules file
        MatchType editing = new MatchType() {
            @Override
            public String key() {
                return "edit";
            }

            @Override
            public Match parse(MatchValue value) {
                try {
                    Files.writeString(list, "10.0.0.0/8\n192.0.2.0/24\n");
                    Files.writeString(rules, Files.readString(rules) + "# edited\n");
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return new EveryConnection();
            }
        };

        Policy policy = Policy.load(rules, PolicyOptions.defaults().withMatchTypes(List.of(editing)));

        assertThat(policy.fileStamps()).extracting(FileStamp::path).containsExactlyElementsOf(policy.files());
        assertThat(policy.fileStamps()).as("as read, not as the files are now")
                .doesNotContain(FileStamp.of(rules), FileStamp.of(list))
                .allSatisfy(stamp -> assertThat(stamp.exists()).isTrue());
        assertThat(policy.listener("demo").orElseThrow().evaluate(Requests.from("demo", "192.0.2.1")).rule())
                .as("the list as it was read").isEqualTo("default");
    }

    /** Matches every connection. */
    private static final class EveryConnection implements Match {
        @Override
        public boolean matches(InspectRequest request, byte[] sourceAddress) {
            return true;
        }

        @Override
        public String key() {
            return "edit";
        }
    }

    @Test
    void theListFileMappingKnowsOnlyFile() throws Exception {
        Path rules = rulesFile("x.txt");
        Files.writeString(rules, Files.readString(rules).replace("{file: x.txt}", "{fiel: x.txt}"));

        assertThat(errors(rules)).isEqualTo(String.join("\n",
                rules + ":2:12: missing required key 'file' in list 'blocked'",
                rules + ":2:13: unknown key 'fiel' (did you mean 'file'?)"));
    }

    @Test
    void aMillionLineListFileLoads() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Path list = conf.resolve("blocked.txt");
        int entries = 1_000_000;
        try (BufferedWriter out = Files.newBufferedWriter(list, StandardCharsets.US_ASCII)) {
            out.write("# a million single addresses, every 7th a comment line, some IPv6\n");
            for (int i = 0; i < entries; i++) {
                int address = 0x0B000000 + i * 3; // from 11.0.0.0, every third address
                if (i % 7 == 0) {
                    out.write("# ---\n");
                }
                if (i % 100 == 0) {
                    out.write("2001:db8:" + Integer.toHexString(i >>> 16) + ":" + Integer.toHexString(i & 0xFFFF) + "::/64\n");
                } else {
                    out.write((address >>> 24) + "." + ((address >>> 16) & 0xFF) + "." + ((address >>> 8) & 0xFF) + "."
                            + (address & 0xFF) + "\n");
                }
            }
        }
        Path rules = rulesFile("blocked.txt");

        long started = System.nanoTime();
        Policy policy = Policy.load(rules);
        long millis = (System.nanoTime() - started) / 1_000_000;
        System.out.printf("loaded a %d-line list file (%d MiB) in %d ms%n", entries, Files.size(list) >> 20, millis);

        ListenerPolicy demo = policy.listener("demo").orElseThrow();
        assertThat(demo.evaluate(Requests.from("demo", "11.0.0.3")).rule()).isEqualTo("deny-blocked");
        assertThat(demo.evaluate(Requests.from("demo", "11.0.0.4")).rule()).isEqualTo("default");
        int last = 0x0B000000 + (entries - 1) * 3;
        assertThat(demo.evaluate(Requests.from("demo", (last >>> 24) + "." + ((last >>> 16) & 0xFF) + "."
                + ((last >>> 8) & 0xFF) + "." + (last & 0xFF))).rule()).isEqualTo("deny-blocked");
        assertThat(demo.evaluate(Requests.from("demo", "2001:db8:0:6400::1")).rule()).isEqualTo("deny-blocked");
    }
}
