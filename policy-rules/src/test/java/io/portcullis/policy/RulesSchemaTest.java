package io.portcullis.policy;

import io.portcullis.policy.limit.LimitKey;
import io.portcullis.policy.limit.LimitScope;
import io.portcullis.policy.limit.OnStoreFailure;
import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.rule.RuleMode;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * {@code rules.schema.json} (shipped at the root of the jar, for editors through
 * {@code # yaml-language-server: $schema=...}) against the examples in the repository and against the
 * parser: every example validates; wrong files fail both; the schema allows exactly the keys the parser
 * knows, and accepts and refuses the same values where a pattern can say it.
 *
 * <p>YAML becomes a JSON tree through Jackson's YAML 1.2 reader, the way an editor's language server reads
 * it (so {@code 5432} is a number and an unquoted {@code 07:00} a string).
 */
class RulesSchemaTest {

    private static final String SCHEMA_RESOURCE = "/rules.schema.json";
    private static final YAMLMapper YAML = new YAMLMapper();
    /** Surefire runs in the module's directory. */
    private static final Path MODULE = Path.of("").toAbsolutePath();
    private static final Path REPOSITORY = MODULE.getParent();
    /** Custom match types (the test service file registers one) are not in the schema: compile without them. */
    private static final PolicyOptions BUILT_IN_ONLY = PolicyOptions.defaults().withMatchTypes(List.of());

    private static JsonNode schemaNode;
    private static Schema schema;

    @BeforeAll
    static void loadSchema() throws IOException {
        try (InputStream in = RulesSchemaTest.class.getResourceAsStream(SCHEMA_RESOURCE)) {
            assertThat(in).as(SCHEMA_RESOURCE + " on the class path (src/main/resources, shipped in the jar)").isNotNull();
            schemaNode = new tools.jackson.databind.ObjectMapper().readTree(in);
        }
        schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(schemaNode);
    }

    // ---- the schema itself ---------------------------------------------------------------------

    @Test
    void theSchemaIsAValidDraft202012Schema() {
        Schema metaSchema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(SchemaLocation.of("https://json-schema.org/draft/2020-12/schema"));

        assertThat(metaSchema.validate(schemaNode)).extracting(Error::toString).isEmpty();
        assertThat(schemaNode.get("$schema").asString()).isEqualTo("https://json-schema.org/draft/2020-12/schema");
    }

    // ---- the examples of the repository ---------------------------------------------------------

    /**
     * Every rules file of the repository, found by shape: YAML files whose top level has {@code listeners:}
     * (rules.yaml files, wherever they are: tests, the gateway's demo, docker/, ...), {@code rules: |} blocks
     * in YAML files (Helm values), and the {@code ```yaml} blocks of Markdown files that have a top-level
     * {@code listeners:}. Build output and {@code .git} are skipped.
     */
    static Stream<Arguments> examples() throws IOException {
        List<Arguments> examples = new ArrayList<>();
        for (Path file : repositoryFiles()) {
            String name = REPOSITORY.relativize(file).toString();
            String fileName = file.getFileName().toString();
            if (!fileName.endsWith(".md") && !fileName.endsWith(".yaml") && !fileName.endsWith(".yml")) {
                continue; // only text formats that can hold rules; binaries are not read at all
            }
            String text = Files.readString(file);
            if (fileName.endsWith(".md")) {
                Matcher block = MARKDOWN_YAML.matcher(text);
                int n = 0;
                while (block.find()) {
                    if (TOP_LEVEL_LISTENERS.matcher(block.group(1)).find()) {
                        examples.add(Arguments.of(Named.of(name + " example " + ++n, block.group(1))));
                    }
                }
            } else if ((fileName.endsWith(".yaml") || fileName.endsWith(".yml"))) {
                if (TOP_LEVEL_LISTENERS.matcher(text).find()) {
                    examples.add(Arguments.of(Named.of(name, text)));
                } else if (EMBEDDED_RULES.matcher(text).find()) {
                    JsonNode rules = YAML.readTree(text).path("rules");
                    if (rules.isString() && TOP_LEVEL_LISTENERS.matcher(rules.asString()).find()) {
                        examples.add(Arguments.of(Named.of(name + " (rules)", rules.asString())));
                    }
                }
            }
        }
        return examples.stream();
    }

    private static final Pattern TOP_LEVEL_LISTENERS = Pattern.compile("(?m)^listeners:");
    private static final Pattern EMBEDDED_RULES = Pattern.compile("(?m)^rules: *\\|");
    private static final Pattern MARKDOWN_YAML = Pattern.compile("```yaml\\n(.*?)```", Pattern.DOTALL);
    private static final Set<String> SKIPPED_DIRECTORIES = Set.of(".git", "target", "node_modules");

    private static List<Path> repositoryFiles() throws IOException {
        List<Path> files = new ArrayList<>();
        Files.walkFileTree(REPOSITORY, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path directory, BasicFileAttributes attributes) {
                return SKIPPED_DIRECTORIES.contains(String.valueOf(directory.getFileName()))
                        ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
                files.add(file);
                return FileVisitResult.CONTINUE;
            }
        });
        files.sort(null);
        return files;
    }

    @Test
    void theExamplesAreFoundWhereTheyAre() throws IOException {
        assertThat(examples().map(arguments -> ((Named<?>) arguments.get()[0]).getName()).toList())
                .contains("policy-rules/src/test/resources/rules/contract.yaml",
                        "policy-rules/src/test/resources/rules/demo.yaml",
                        "gateway-app/src/main/resources/demo/rules.yaml",
                        "policy-rules/README.md example 1",
                        "README.md example 1");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void everyExampleOfTheRepositoryValidates(String yaml) {
        assertThat(schemaErrors(yaml)).isEmpty();
    }

    @Test
    void theExampleFilesAreRealPolicies() throws Exception {
        for (Path file : List.of(MODULE.resolve("src/test/resources/rules/contract.yaml"),
                MODULE.resolve("src/test/resources/rules/demo.yaml"),
                REPOSITORY.resolve("gateway-app/src/main/resources/demo/rules.yaml"))) {
            assertThat(Policy.load(file).listenerNames()).as(file.toString()).isNotEmpty();
        }
    }

    // ---- wrong files -----------------------------------------------------------------------------

    static Stream<Arguments> wrongFiles() {
        return Stream.of(
                wrong("unknown rule key", "/listeners/demo/rules/0", rule("colour: red\n        action: accept")),
                wrong("unknown top-level key", "", "policy: {}\nlisteners: {}\n"),
                wrong("unknown listener key", "/listeners/demo", "listeners:\n  demo:\n    default: reject\n    rulez: []\n"),
                wrong("bad action", "/listeners/demo/rules/0/action", rule("action: acept")),
                wrong("bad default", "/listeners/demo/default", "listeners:\n  demo:\n    default: drop\n"),
                wrong("missing default", "/listeners/demo", "listeners:\n  demo:\n    rules: []\n"),
                wrong("missing listeners", "", "lists: {}\n"),
                wrong("CIDR prefix too long", "/listeners/demo/rules/0/source/0", rule("source: [10.0.0.0/33]\n        action: accept")),
                wrong("IPv4 octet too large", "/listeners/demo/rules/0/source/0", rule("source: [192.168.1.256]\n        action: accept")),
                wrong("IPv4 leading zero", "/lists/office/0", "lists:\n  office: [10.0.0.01]\nlisteners: {}\n"),
                wrong("IPv6 with two gaps", "/lists/office/0", "lists:\n  office: [\"2001::db8::1\"]\nlisteners: {}\n"),
                wrong("a list refers to a list", "/lists/office/0", "lists:\n  office: [list:other]\nlisteners: {}\n"),
                wrong("list file with another key", "/lists/blocked", "lists:\n  blocked: {file: ./blocked.txt, format: plain}\nlisteners: {}\n"),
                wrong("empty source", "/listeners/demo/rules/0/source", rule("source: []\n        action: accept")),
                wrong("missing name", "/listeners/demo/rules/0", "listeners:\n  demo:\n    rules:\n      - action: accept\n    default: reject\n"),
                wrong("reserved name", "/listeners/demo/rules/0/name", "listeners:\n  demo:\n    rules:\n      - name: default\n        action: accept\n    default: reject\n"),
                wrong("neither action nor limiter", "/listeners/demo/rules/0", rule("source: [10.0.0.0/8]")),
                wrong("action and limiter", "/listeners/demo/rules/0", rule("action: accept\n        rate-limit: {rate: 10/s}")),
                wrong("two limiters", "/listeners/demo/rules/0", rule("rate-limit: {rate: 10/s}\n        concurrency-limit: {max: 5}")),
                wrong("decision without pend", "/listeners/demo/rules/0/action", rule("action: accept\n        decision: authz")),
                wrong("route on reject", "/listeners/demo/rules/0/action", rule("action: reject\n        route: api")),
                wrong("route on a limiter", "/listeners/demo/rules/0", rule("rate-limit: {rate: 10/s}\n        route: api")),
                wrong("timeout on a limiter", "/listeners/demo/rules/0", rule("rate-limit: {rate: 10/s}\n        timeout: 2s")),
                wrong("bad duration", "/listeners/demo/rules/0/timeout", rule("action: pend\n        timeout: 5d")),
                wrong("bad rate", "/listeners/demo/rules/0/rate-limit/rate", rule("rate-limit: {rate: 10/h}")),
                wrong("missing rate", "/listeners/demo/rules/0/rate-limit", rule("rate-limit: {burst: 10}")),
                wrong("bad limiter key", "/listeners/demo/rules/0/concurrency-limit/key", rule("concurrency-limit: {key: destination-ip, max: 5}")),
                wrong("bad day", "/listeners/demo/rules/0/time/days/0", rule("time: {days: [mon-fry]}\n        action: accept")),
                wrong("unknown time key", "/listeners/demo/rules/0/time", rule("time: {days: [mon], until: \"19:00\"}\n        action: accept")),
                wrong("empty time window", "/listeners/demo/rules/0/time", rule("time: {}\n        action: accept")),
                wrong("pp-tlv without values", "/listeners/demo/rules/0/pp-tlv", rule("pp-tlv: {type: 0xEA}\n        action: accept")),
                wrong("pp-tlv as a string", "/listeners/demo/rules/0/pp-tlv", rule("pp-tlv: 0xEA\n        action: accept")),
                wrong("empty tls-fingerprint", "/listeners/demo/rules/0/tls-fingerprint", rule("tls-fingerprint: []\n        action: accept")),
                wrong("a list of addresses and fingerprints", "/lists/mixed",
                        "lists:\n  mixed: [10.0.0.0/8, t13d1516h2_8daaf6152771_e5627efa2ab1]\nlisteners: {}\n"),
                wrong("bad mode", "/listeners/demo/rules/0/mode", rule("action: reject\n        mode: audit")));
    }

    private static Arguments wrong(String what, String where, String yaml) {
        return Arguments.of(Named.of(what, yaml), where);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("wrongFiles")
    void wrongFilesFailTheSchemaAndTheParser(String yaml, String where) {
        List<Error> errors = schema.validate(YAML.readTree(yaml));

        assertThat(errors).as("schema errors").isNotEmpty();
        assertThat(errors).extracting(error -> error.getInstanceLocation().toString())
                .as("where the schema reports it").anySatisfy(location -> assertThat(pointer(location)).isEqualTo(where));
        assertThat(parserErrors(yaml)).as("the parser refuses it too").isNotEmpty();
    }

    // ---- the schema and the parser in step: keys ------------------------------------------------

    /**
     * Each table of known keys in the parser (yaml/Section, RuleParser), read from the message of an
     * unknown key ("expected one of: …") because the yaml package does not expose the tables; and the
     * schema object that must allow exactly those keys.
     */
    static Stream<Arguments> keyTables() {
        String unknown = "zzzzzzzzzz";
        return Stream.of(
                Arguments.of(Named.of("policy", unknown + ": 1\nlisteners: {}\n"), "/properties"),
                Arguments.of(Named.of("listener", "listeners:\n  demo:\n    default: reject\n    " + unknown + ": 1\n"),
                        "/$defs/listener/properties"),
                Arguments.of(Named.of("rule", rule(unknown + ": 1\n        action: accept")), "/$defs/rule/properties"),
                Arguments.of(Named.of("list file", "lists:\n  l: {file: ./none.txt, " + unknown + ": 1}\nlisteners: {}\n"),
                        "/$defs/listFile/properties"),
                Arguments.of(Named.of("time window", rule("time: {days: [mon], " + unknown + ": 1}\n        action: accept")),
                        "/$defs/time/properties"),
                Arguments.of(Named.of("pp-tlv", rule("pp-tlv: {type: 2, values: [x], " + unknown + ": 1}\n        action: accept")),
                        "/$defs/proxyTlv/properties"),
                Arguments.of(Named.of("rate-limit", rule("rate-limit: {rate: 10/s, " + unknown + ": 1}")),
                        "/$defs/rateLimit/properties"),
                Arguments.of(Named.of("concurrency-limit", rule("concurrency-limit: {max: 5, " + unknown + ": 1}")),
                        "/$defs/concurrencyLimit/properties"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("keyTables")
    void theSchemaAllowsExactlyTheKeysTheParserKnows(String yamlWithUnknownKey, String schemaProperties) {
        Pattern expected = Pattern.compile("unknown key 'z+' in an? [^(]*\\(expected one of: ([^)]*)\\)");
        List<String> keys = parserErrors(yamlWithUnknownKey).stream().map(expected::matcher).filter(Matcher::find)
                .map(m -> m.group(1)).findFirst().map(list -> Arrays.asList(list.split(", ")))
                .orElseThrow(() -> new AssertionError("no \"unknown key … (expected one of: …)\" error in "
                        + parserErrors(yamlWithUnknownKey)));
        JsonNode properties = schemaNode.at(schemaProperties);
        assertThat(properties.isObject()).as(schemaProperties + " in the schema").isTrue();
        Set<String> schemaKeys = new LinkedHashSet<>(properties.propertyNames());

        assertThat(schemaKeys).as("keys at " + schemaProperties + " (schema) vs. the parser's table")
                .containsExactlyInAnyOrderElementsOf(keys);
        assertThat(schemaNode.at(schemaProperties.replace("/properties", "/additionalProperties")).asBoolean(true))
                .as("additionalProperties: false beside " + schemaProperties).isFalse();
    }

    @Test
    void everyObjectOfTheSchemaIsClosed() {
        List<String> open = new ArrayList<>();
        findOpenObjects(schemaNode, "", open);
        assertThat(open).as("schema objects with properties but without additionalProperties: false").isEmpty();
    }

    private static void findOpenObjects(JsonNode node, String at, List<String> open) {
        if (node.isObject()) {
            if (node.has("properties") && node.path("type").asString("").equals("object")
                    && !(node.has("additionalProperties") && node.get("additionalProperties").isBoolean()
                    && !node.get("additionalProperties").asBoolean())) {
                open.add(at);
            }
            for (String name : node.propertyNames()) {
                findOpenObjects(node.get(name), at + "/" + name, open);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                findOpenObjects(node.get(i), at + "/" + i, open);
            }
        }
    }

    // ---- the schema and the parser in step: enums -----------------------------------------------

    @Test
    void theScopesAndStoreFailureAnswersAreThoseOfTheirEnums() {
        assertThat(strings(schemaNode.at("/$defs/limitScope/enum")))
                .containsExactlyElementsOf(Stream.of(LimitScope.values()).map(LimitScope::label).toList());
        assertThat(strings(schemaNode.at("/$defs/onStoreFailure/enum")))
                .containsExactlyElementsOf(Stream.of(OnStoreFailure.values()).map(OnStoreFailure::label).toList());
    }

    @Test
    void theActionsAreThoseOfInspectAction() {
        assertThat(strings(schemaNode.at("/$defs/action/enum")))
                .containsExactlyElementsOf(Stream.of(InspectAction.values()).map(InspectAction::label).toList());
    }

    @Test
    void theModesAreThoseOfRuleMode() {
        assertThat(strings(schemaNode.at("/$defs/rule/properties/mode/enum")))
                .containsExactlyElementsOf(Stream.of(RuleMode.values()).map(RuleMode::label).toList());
    }

    @Test
    void theLimiterKeyKindsAreThoseOfLimitKey() {
        Set<LimitKey.Kind> kinds = new TreeSet<>();
        strings(schemaNode.at("/$defs/limitKey/anyOf/0/enum"))
                .forEach(key -> kinds.add(LimitKey.parse(key).orElseThrow().kind()));
        kinds.add(LimitKey.parse("source-cidr/24").orElseThrow().kind()); // the pattern's kind
        assertThat(kinds).containsExactlyInAnyOrder(LimitKey.Kind.values());
        assertThat(schemaNode.at("/$defs/limitKey/anyOf/1/pattern").asString()).startsWith("^source-cidr/");
    }

    // ---- the schema and the parser in step: values ----------------------------------------------

    /**
     * Values of each kind, valid or not, that the schema and the parser must judge alike. Strings are
     * written double-quoted, numbers plain.
     */
    static Stream<Arguments> values() {
        List<Arguments> values = new ArrayList<>();
        add(values, "address", true, "192.0.2.7", "192.0.2.0/24", "0.0.0.0/0", "255.255.255.255", "2001:db8::/32",
                "::1", "::", "::/0", "::ffff:192.0.2.7", "::ffff:0:0/96", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:192.0.2.1",
                "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "FE80::1", "list:office", "!list:office");
        add(values, "address", false, "192.0.2.256", "192.0.2.0/33", "10.0.0.01", "10.0.0", "10.0.0.0/", "2001:db8::/129",
                "1:2:3:4:5:6:7:8:9", "1::2::3", "1:2:3:4:5:6:7::8", "12345::1", "fe80::1%eth0", "example.com",
                "!10.0.0.0/8", "list:", "!list:", "list:-x", " ");
        add(values, "listEntry", true, "203.0.113.0/24", "2001:db8:bad::/48", "198.51.100.7",
                "t13d1516h2_8daaf6152771_e5627efa2ab1");
        add(values, "listEntry", false, "list:office", "203.0.113.0/24/1", "203.0.113.x");
        add(values, "port", true, 5432, 1, 65535, "5432", "8000-8100", "8000 - 8100", "1-65535");
        add(values, "port", false, 0, 65536, -1, "0", "70000", "http", "80-", "-80", "80-90-100", "1-65536");
        add(values, "sni", true, "db.example.com", "*.example.com", "none", "DB.Example.COM", "localhost", "a_b.example",
                "xn--bcher-kva.example");
        add(values, "sni", false, "*.", "*", "ex ample.com", "*example.com", "example.com.", "-a.example.com",
                "a-.example.com", "a..b", "*.*.example.com", "db.example.com:443");
        add(values, "alpn", true, "h2", "http/1.1", "none", "x".repeat(255));
        add(values, "alpn", false, "", " ", "x".repeat(256));
        add(values, "ppAuthority", true, "db.example.com", "*.example.com", "none", "DB.Example.COM");
        add(values, "ppAuthority", false, "*", "a..b", "db.example.com:443", "");
        add(values, "fingerprint", true, "t13d1516h2_8daaf6152771_e5627efa2ab1", "T13D1516H2_8DAAF6152771_E5627EFA2AB1",
                "q13d0310h3_55b375c5d22e_cd85d2d88918", "d12i050700_000000000000_000000000000", "ts3i1010zz_0123456789ab_cdef01234567",
                "t00d9999Az_8daaf6152771_e5627efa2ab1", "none");
        add(values, "fingerprint", false, "x13d1516h2_8daaf6152771_e5627efa2ab1", "t1d1516h2_8daaf6152771_e5627efa2ab1",
                "t13x1516h2_8daaf6152771_e5627efa2ab1", "t13d15a6h2_8daaf6152771_e5627efa2ab1",
                "t13d1516h-_8daaf6152771_e5627efa2ab1", "t13d1516h2_8daaf615277g_e5627efa2ab1",
                "t13d1516h2_8daaf6152771_e5627efa2ab", "t13d1516h2_8daaf6152771_e5627efa2ab12",
                "t13d1516h2-8daaf6152771-e5627efa2ab1", "t13d1516h2_8daaf6152771", "t13d1516h2_8daaf6152771_e5627efa2ab1_",
                "t13d1516h\u00e9_8daaf6152771_e5627efa2ab1", "list:", "!list:office", "", "nothing");
        add(values, "tlvType", true, 0, 2, 234, 255, "0xEA", "0xea", "0XEA", "0x0", "0xFF", "234");
        add(values, "tlvType", false, 256, -1, "0x100", "0x", "EA", "0xEG", "012", "2.0", "", "0b11", "1_0");
        add(values, "tlvValue", true, "vpce-0123abcd", "12345", 12345, "hex:00ff", "a b", "hex");
        add(values, "tlvValue", false, "", "hex:ABCD", "hex:abc", "hex:", "hex:zz", "caf\u00e9", "tab\there");
        add(values, "day", true, "mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "sunday", "mon-fri",
                "fri-mon", "mon - fri", "saturday-sunday");
        add(values, "day", false, "mo", "mon-fry", "weekday", "mon-", "-fri", "1", "mon-fri-sat");
        add(values, "from", true, "07:00", "7:00", "00:00", "23:59");
        add(values, "from", false, "24:00", "7", "07:60", "25:00", "07.00", "7am", "007:00");
        add(values, "to", true, "19:00", "24:00", "23:59", "0:30");
        add(values, "to", false, "24:01", "24:30", "7pm", "19");
        add(values, "duration", true, "300ms", "2s", "1m", "1h", "05s", "999999999ms");
        add(values, "duration", false, "0s", "000ms", "1d", "1.5s", "2 s", "s", "1000000000ms", "-1s", "2S", "PT2S");
        add(values, "rate", true, "10/s", "600/m", "1/s", "10 / s", "999999999/m");
        add(values, "rate", false, "0/s", "10/h", "10", "ten/s", "10/sec", "1000000000/s", "/s", "-1/s");
        add(values, "limitKey", true, "source-ip", "listener", "source-cidr/0", "source-cidr/24", "source-cidr/32",
                "source-cidr/33", "source-cidr/64", "source-cidr/128", "source-cidr/24/56", "source-cidr/32/128",
                "source-cidr/0/0");
        add(values, "limitKey", false, "source-cidr/129", "source-cidr/33/64", "source-cidr/24/129", "source-cidr",
                "source-cidr/", "source-cidr/24/", "source", "destination-ip", "Source-IP");
        add(values, "count", true, 20, 1, 999999999, "20", "1");
        add(values, "count", false, 0, -1, 1000000000, 1.5, "0", "twenty", "", "1e3");
        add(values, "scope", true, "local", "cluster");
        add(values, "scope", false, "Cluster", "clustr", "global", "", " cluster");
        add(values, "onStoreFailure", true, "local", "accept", "reject");
        add(values, "onStoreFailure", false, "Accept", "rejct", "fail-open", "");
        add(values, "onStoreFailureWithoutCluster", false, "local", "accept");
        add(values, "action", true, "accept", "reject", "pend");
        add(values, "action", false, "acept", "ACCEPT", "drop", "");
        add(values, "mode", true, "enforce", "shadow");
        add(values, "mode", false, "audit", "Shadow", "");
        add(values, "name", true, "local", "deny-blocked", "rule 1", "Default");
        add(values, "name", false, "default", "no-policy", "", " ");
        add(values, "decision", true, "authz", "opa.v1", "decide_2");
        add(values, "decision", false, "-authz", "auth z", "", "authz/x");
        add(values, "route", true, "api", "pool-2", "0", "a".repeat(63));
        add(values, "route", false, "API", "-api", "api_v2", "api.v2", "", "a".repeat(64), "api pool");
        add(values, "listName", true, "office", "block-list.v4", "a_b", "2024");
        add(values, "listName", false, "-office", "office list", "list:office", "a/b");
        return values.stream();
    }

    private static void add(List<Arguments> values, String kind, boolean valid, Object... written) {
        for (Object value : written) {
            String shown = yaml(value).length() > 40 ? yaml(value).substring(0, 20) + "…(" + yaml(value).length() + ")" : yaml(value);
            values.add(Arguments.of(kind, Named.of(shown, value), valid));
        }
    }

    @ParameterizedTest(name = "{0} {1}: valid={2}")
    @MethodSource("values")
    void theSchemaAndTheParserJudgeValuesAlike(String kind, Object value, boolean valid) {
        String yaml = policyWith(kind, yaml(value));

        assertThat(schemaErrors(yaml).isEmpty()).as("schema accepts " + yaml + schemaErrors(yaml)).isEqualTo(valid);
        assertThat(parserErrors(yaml).isEmpty()).as("parser accepts " + yaml + parserErrors(yaml)).isEqualTo(valid);
    }

    /**
     * What only the parser can check (the schema documents it in its descriptions): these validate against
     * the schema but the parser refuses them.
     */
    static Stream<Arguments> parserOnly() {
        return Stream.of(
                Arguments.of(Named.of("host bits set", policyWith("address", "\"10.0.0.1/8\""))),
                Arguments.of(Named.of("unknown list", policyWith("address", "\"list:ofice\""))),
                Arguments.of(Named.of("fingerprints where source needs addresses", "lists:\n  bots: [t13d1516h2_8daaf6152771_e5627efa2ab1]\n"
                        + "listeners:\n  demo:\n    rules:\n      - {name: r, source: [list:bots], action: accept}\n    default: reject\n")),
                Arguments.of(Named.of("addresses where tls-fingerprint needs fingerprints",
                        policyWith("fingerprint", "\"list:office\""))),
                Arguments.of(Named.of("one TLV type twice", rule("pp-tlv: [{type: 0xEA, values: [a]}, {type: 234, values: [b]}]\n        action: accept"))),
                Arguments.of(Named.of("port range backwards", policyWith("port", "\"9000-8000\""))),
                Arguments.of(Named.of("unknown time zone", rule("time: {zone: Europe/Berln}\n        action: accept"))),
                Arguments.of(Named.of("from equals to", rule("time: {from: \"07:00\", to: \"07:00\"}\n        action: accept"))),
                Arguments.of(Named.of("duplicate rule name", "listeners:\n  demo:\n    rules:\n"
                        + "      - {name: a, source: [10.0.0.0/8], action: accept}\n"
                        + "      - {name: a, source: [10.0.0.0/9], action: accept}\n    default: reject\n")),
                Arguments.of(Named.of("rule after a catch-all", "listeners:\n  demo:\n    rules:\n"
                        + "      - {name: all, action: accept}\n      - {name: never, action: reject}\n    default: reject\n")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("parserOnly")
    void whatOnlyTheParserChecks(String yaml) {
        assertThat(schemaErrors(yaml)).isEmpty();
        assertThat(parserErrors(yaml)).isNotEmpty();
    }

    // ---- helpers ---------------------------------------------------------------------------------

    /** A policy whose listener "demo" has one rule named "r" with the given lines (indented 8). */
    private static String rule(String lines) {
        return "lists:\n  office: [192.0.2.0/24]\nlisteners:\n  demo:\n    rules:\n      - name: r\n        " + lines
                + "\n    default: reject\n";
    }

    /** A policy in which {@code value} (YAML text) stands where a value of {@code kind} goes. */
    private static String policyWith(String kind, String value) {
        return switch (kind) {
            case "address" -> rule("source: [" + value + "]\n        action: accept");
            case "listEntry" -> "lists:\n  l: [" + value + "]\nlisteners: {}\n";
            case "listName" -> "lists:\n  " + value + ": [192.0.2.0/24]\nlisteners: {}\n";
            case "port" -> rule("port: [" + value + "]\n        action: accept");
            case "sni" -> rule("sni: [" + value + "]\n        action: accept");
            case "alpn" -> rule("alpn: [" + value + "]\n        action: accept");
            case "ppAuthority" -> rule("pp-authority: [" + value + "]\n        action: accept");
            case "fingerprint" -> rule("tls-fingerprint: [" + value + "]\n        action: accept");
            case "tlvType" -> rule("pp-tlv: {type: " + value + ", values: [x]}\n        action: accept");
            case "tlvValue" -> rule("pp-tlv: {type: 0xEA, values: [" + value + "]}\n        action: accept");
            case "day" -> rule("time: {days: [" + value + "]}\n        action: accept");
            case "from" -> rule("time: {from: " + value + "}\n        action: accept");
            case "to" -> rule("time: {to: " + value + "}\n        action: accept");
            case "duration" -> rule("action: pend\n        timeout: " + value);
            case "rate" -> rule("rate-limit: {rate: " + value + "}");
            case "limitKey" -> rule("rate-limit: {key: " + value + ", rate: 10/s}");
            case "count" -> rule("concurrency-limit: {max: " + value + "}");
            case "scope" -> rule("rate-limit: {rate: 10/s, scope: " + value + "}");
            case "onStoreFailure" -> rule("concurrency-limit: {max: 5, scope: cluster, on-store-failure: " + value + "}");
            case "onStoreFailureWithoutCluster" -> rule("concurrency-limit: {max: 5, on-store-failure: " + value + "}");
            case "action" -> rule("action: " + value);
            case "mode" -> rule("action: reject\n        mode: " + value);
            case "decision" -> rule("action: pend\n        decision: " + value);
            case "route" -> rule("action: accept\n        route: " + value);
            case "name" -> "listeners:\n  demo:\n    rules:\n      - name: " + value + "\n        action: accept\n"
                    + "    default: reject\n";
            default -> throw new IllegalArgumentException(kind);
        };
    }

    /** A string double-quoted (YAML reads it as a string whatever it looks like), a number as written. */
    private static String yaml(Object value) {
        if (value instanceof String text) {
            return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        }
        return String.valueOf(value);
    }

    private static List<String> schemaErrors(String yaml) {
        return schema.validate(YAML.readTree(yaml)).stream().map(Error::toString).toList();
    }

    private static List<String> parserErrors(String yaml) {
        PolicyException e = catchThrowableOfType(PolicyException.class,
                () -> Policy.parse(yaml, "rules.yaml", BUILT_IN_ONLY));
        return e == null ? List.of() : e.errors().stream().map(PolicyError::toString).toList();
    }

    /** An instance location as a JSON pointer ("" for the root), whatever notation the validator prints. */
    private static String pointer(String location) {
        if (location.startsWith("$")) {
            return location.substring(1).replaceAll("\\[(\\d+)]", ".$1").replace('.', '/')
                    .replaceAll("\\['([^']*)']", "/$1");
        }
        return location;
    }

    private static List<String> strings(JsonNode array) {
        List<String> strings = new ArrayList<>();
        array.forEach(node -> strings.add(node.asString()));
        return strings;
    }
}
