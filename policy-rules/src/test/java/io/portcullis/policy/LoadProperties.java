package io.portcullis.policy;

import io.portcullis.policy.model.InspectId;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the fuzz tests of the loader check for one input: {@link Policy#load} either returns a policy that
 * evaluates sample requests, or throws a {@link PolicyException} with bounded, positioned errors — any other
 * exception or error propagates and fails the input. It also ends quickly, and {@link Validate} agrees.
 */
final class LoadProperties {

    /** Longest error message allowed (without the file name): errors quote what they refer to, cut short. */
    static final int MAX_MESSAGE = 1_000;
    /** Per input; a YAML bomb or a quadratic walk takes far longer. Generous for a cold JIT on a slow machine. */
    static final Duration MAX_TIME = Duration.ofSeconds(5);

    private static final InetSocketAddress DESTINATION = socket("127.0.0.1", 5432);
    private static final List<InspectRequest> SAMPLES = samples();

    private LoadProperties() {
    }

    /** Loads {@code rules} and checks the properties; returns the policy when it loaded. */
    static Optional<Policy> check(Path rules) {
        long start = System.nanoTime();
        Optional<Policy> loaded;
        try {
            loaded = Optional.of(Policy.load(rules));
        } catch (PolicyException e) {
            checkErrors(e);
            loaded = Optional.empty();
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(took).as("load time").isLessThan(MAX_TIME);
        loaded.ifPresent(LoadProperties::evaluateSamples);

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Validate.run(List.of(rules.toString()), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as("validate agrees with load").isEqualTo(loaded.isPresent() ? 0 : 1);
        assertThat(out.size() + err.size()).as("validate output").isLessThan(64 * (MAX_MESSAGE + 512));
        return loaded;
    }

    private static void checkErrors(PolicyException e) {
        List<PolicyError> errors = e.errors();
        assertThat(errors).isNotEmpty().hasSizeLessThanOrEqualTo(51);
        for (PolicyError error : errors) {
            assertThat(error.message()).as("error message").isNotBlank();
            assertThat(error.message().length()).as("length of '%s…'", head(error.message())).isLessThanOrEqualTo(MAX_MESSAGE);
        }
    }

    private static String head(String message) {
        return message.substring(0, Math.min(200, message.length()));
    }

    /** Every listener (and one the policy does not know) evaluates every sample; permits go back. */
    private static void evaluateSamples(Policy policy) {
        PolicyEngine engine = new PolicyEngine(policy);
        List<String> listeners = new ArrayList<>(policy.listenerNames());
        listeners.add("not-in-the-policy");
        for (String listener : listeners) {
            for (InspectRequest sample : SAMPLES) {
                InspectRequest request = new InspectRequest(sample.id(), listener, sample.source(), sample.destination(),
                        sample.receivedAt(), sample.sni(), sample.alpn(), sample.peer(), sample.proxyTlvs(), sample.ja4());
                Verdict verdict = engine.evaluate(request, (req, would) -> { });
                assertThat(verdict).isNotNull();
                verdict.permit().release();
            }
        }
    }

    private static List<InspectRequest> samples() {
        Instant now = Instant.parse("2026-03-04T10:00:00Z");
        List<InspectRequest> samples = new ArrayList<>();
        for (String source : new String[] {"10.1.2.3", "192.0.2.1", "203.0.113.9", "127.0.0.1", "::1", "2001:db8::5"}) {
            samples.add(InspectRequest.of(InspectId.next(), "l", socket(source, 1023), DESTINATION, now));
        }
        InspectRequest tls = InspectRequest.of(InspectId.next(), "l", socket("192.0.2.1", 40000),
                socket("127.0.0.1", 8050), now);
        samples.add(tls.withTls(Optional.of("db.example.com"), List.of("h2", "http/1.1"),
                Optional.of("t13d1516h2_8daaf6152771_e5627efa2ab1")));
        samples.add(tls.withTls(Optional.empty(), List.of(), Optional.empty()));
        samples.add(tls.withProxy(socket("10.9.8.7", 50000), socket("10.0.0.1", 443),
                Map.of(0xEA, List.of("vpce-0123abcd"), InspectRequest.TLV_AUTHORITY, List.of("api.example.com"))));
        return List.copyOf(samples);
    }

    private static InetSocketAddress socket(String literal, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(literal), port); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
