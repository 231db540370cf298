package io.portcullis.gateway.decision;

import io.portcullis.core.InspectAction;
import io.portcullis.core.InspectId;
import io.portcullis.core.InspectRequest;
import io.portcullis.core.ProxyHeader;
import io.portcullis.core.TlsHello;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The wire format of decision services (DESIGN.md, Contract), with Jackson 3.
 *
 * <p>Request, both types: {@code {"id", "listener", "source": {"ip", "port"}, "destination": {"ip", "port"},
 * "sni", "alpn", "peer": {"ip", "port"}, "proxy": null or {"version", "local", "authority", "tlvs": [{"type",
 * "value"}]}, "tls": null or {"versions", "ja4"}, "rule", "receivedAt"}}; {@code opa} wraps it as
 * {@code {"input": ...}}. Answer of {@code http}:
 * {@code {"action": "accept"|"reject", "reason": "...", "ttl": "30s", "route": "api"}} (reason, ttl and route
 * optional); of {@code opa}: {@code {"result": true|false}} or
 * {@code {"result": {"allow": bool, "reason": "...", "route": "api"}}}. A route is a backend pool's name; with a
 * reject it is ignored (a policy may compute it apart from the verdict). Anything else is a
 * {@link MalformedAnswerException}. Thread-safe; any thread.
 */
public final class DecisionJson {

    /** A reason longer than this is cut: it goes to the audit line, not to a database. */
    static final int MAX_REASON_CHARS = 256;
    private static final Pattern ROUTE = Pattern.compile(io.portcullis.policy.rule.Rule.ROUTE_PATTERN);
    private static final Pattern TTL = Pattern.compile("(\\d{1,9})(ms|s|m|h)");
    private static final Duration MAX_TTL = DecisionServiceSettings.CacheSettings.MAX_TTL;
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private DecisionJson() {
    }

    /** Loads and initializes the JSON classes at start, not on an event loop with a client waiting. */
    static void warmUp() {
        InspectRequest sample = InspectRequest.of(new InspectId(Long.MAX_VALUE), "warm-up",
                new InetSocketAddress("127.0.0.1", 1), new InetSocketAddress("127.0.0.1", 2), Instant.now());
        for (DecisionType type : DecisionType.values()) {
            request(type, sample, "warm-up");
        }
        parse(DecisionType.HTTP, "{\"action\":\"accept\",\"reason\":\"r\",\"ttl\":\"1s\"}".getBytes(StandardCharsets.UTF_8));
        parse(DecisionType.OPA, "{\"result\":{\"allow\":true}}".getBytes(StandardCharsets.UTF_8));
    }

    /** The request body for {@code request}, asked by {@code rule}. */
    public static byte[] request(DecisionType type, InspectRequest request, String rule) {
        ObjectNode body = MAPPER.createObjectNode();
        body.put("id", request.id().toString());
        body.put("listener", request.listener());
        address(body.putObject("source"), request.source());
        address(body.putObject("destination"), request.destination());
        if (request.sni().isPresent()) {
            body.put("sni", request.sni().get());
        } else {
            body.putNull("sni");
        }
        ArrayNode alpn = body.putArray("alpn");
        request.alpn().forEach(alpn::add);
        address(body.putObject("peer"), request.peer());
        if (request.proxy().isPresent()) {
            ProxyHeader header = request.proxy().get();
            ObjectNode proxy = body.putObject("proxy");
            proxy.put("version", header.version());
            proxy.put("local", header.local());
            if (header.authority().isPresent()) {
                proxy.put("authority", header.authority().get());
            } else {
                proxy.putNull("authority");
            }
            ArrayNode tlvs = proxy.putArray("tlvs");
            for (ProxyHeader.ProxyTlv tlv : header.tlvs()) {
                tlvs.addObject().put("type", tlv.type()).put("value", tlv.value());
            }
        } else {
            body.putNull("proxy");
        }
        if (request.tls().isPresent()) {
            TlsHello hello = request.tls().get();
            ObjectNode tls = body.putObject("tls");
            ArrayNode versions = tls.putArray("versions");
            hello.versions().forEach(versions::add);
            tls.put("ja4", hello.ja4());
        } else {
            body.putNull("tls");
        }
        body.put("rule", rule);
        body.put("receivedAt", request.receivedAt().toString());
        if (type == DecisionType.OPA) {
            ObjectNode wrapped = MAPPER.createObjectNode();
            wrapped.set("input", body);
            body = wrapped;
        }
        return MAPPER.writeValueAsBytes(body);
    }

    private static void address(ObjectNode node, InetSocketAddress address) {
        node.put("ip", address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString());
        node.put("port", address.getPort());
    }

    /**
     * Reads an answer.
     *
     * @throws MalformedAnswerException when it is not an answer of {@code type}, saying what is wrong
     */
    public static Decision parse(DecisionType type, byte[] body) {
        JsonNode root;
        try {
            root = MAPPER.readTree(body);
        } catch (JacksonException e) {
            throw new MalformedAnswerException("answer is not JSON: " + shorten(e.getOriginalMessage()));
        }
        if (root == null || root.isMissingNode()) {
            throw new MalformedAnswerException("answer is empty");
        }
        if (!root.isObject()) {
            throw new MalformedAnswerException("answer is not a JSON object");
        }
        return type == DecisionType.OPA ? opa(root) : http(root);
    }

    private static Decision http(JsonNode root) {
        JsonNode action = root.get("action");
        if (action == null || action.isNull()) {
            throw new MalformedAnswerException("answer has no \"action\" (expected accept or reject)");
        }
        if (!action.isString()) {
            throw new MalformedAnswerException("\"action\" is not a string (expected accept or reject)");
        }
        InspectAction decided = switch (action.stringValue()) {
            case "accept" -> InspectAction.ACCEPT;
            case "reject" -> InspectAction.REJECT;
            default -> throw new MalformedAnswerException("unknown action '" + shorten(action.stringValue())
                    + "' (expected accept or reject)");
        };
        Optional<String> route = route(root);
        return new Decision(decided, reason(root), ttl(root.get("ttl")),
                decided == InspectAction.ACCEPT ? route : Optional.empty());
    }

    private static Decision opa(JsonNode root) {
        JsonNode result = root.get("result");
        if (result == null || result.isNull()) {
            throw new MalformedAnswerException("OPA answer has no \"result\" (is the policy undefined for this input?)");
        }
        if (result.isBoolean()) {
            return new Decision(result.booleanValue() ? InspectAction.ACCEPT : InspectAction.REJECT,
                    Optional.empty(), Optional.empty());
        }
        if (!result.isObject()) {
            throw new MalformedAnswerException("OPA \"result\" is neither a boolean nor an object");
        }
        JsonNode allow = result.get("allow");
        if (allow == null || !allow.isBoolean()) {
            throw new MalformedAnswerException("OPA \"result\" has no boolean \"allow\"");
        }
        Optional<String> route = route(result);
        return new Decision(allow.booleanValue() ? InspectAction.ACCEPT : InspectAction.REJECT,
                reason(result), Optional.empty(), allow.booleanValue() ? route : Optional.empty());
    }

    /** A pool's name; null or absent for none. Spelled as in rules.yaml, so a typo fails here, not at the pool. */
    private static Optional<String> route(JsonNode node) {
        JsonNode route = node.get("route");
        if (route == null || route.isNull()) {
            return Optional.empty();
        }
        if (!route.isString()) {
            throw new MalformedAnswerException("\"route\" is not a string (expected a backend pool's name)");
        }
        if (!ROUTE.matcher(route.stringValue()).matches()) {
            throw new MalformedAnswerException("bad route '" + shorten(route.stringValue())
                    + "' (expected a backend pool's name: lower-case letters, digits and '-')");
        }
        return Optional.of(route.stringValue());
    }

    private static Optional<String> reason(JsonNode node) {
        JsonNode reason = node.get("reason");
        if (reason == null || reason.isNull()) {
            return Optional.empty();
        }
        if (!reason.isString()) {
            throw new MalformedAnswerException("\"reason\" is not a string");
        }
        String text = reason.stringValue().strip();
        if (text.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(text.length() > MAX_REASON_CHARS ? text.substring(0, MAX_REASON_CHARS) : text);
    }

    /** {@code "30s"}, {@code "500ms"}, {@code "5m"}, {@code "1h"}; {@code "0s"} means "do not cache". At most 24h. */
    static Optional<Duration> ttl(JsonNode ttl) {
        if (ttl == null || ttl.isNull()) {
            return Optional.empty();
        }
        if (!ttl.isString()) {
            throw new MalformedAnswerException("\"ttl\" is not a string such as \"30s\"");
        }
        Matcher m = TTL.matcher(ttl.stringValue().strip());
        if (!m.matches()) {
            throw new MalformedAnswerException("bad ttl '" + shorten(ttl.stringValue()) + "' (expected e.g. 500ms, 30s, 5m)");
        }
        long amount = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            default -> Duration.ofHours(amount);
        };
        if (d.compareTo(MAX_TTL) > 0) {
            throw new MalformedAnswerException("bad ttl '" + ttl.stringValue() + "' (at most 24h)");
        }
        return Optional.of(d);
    }

    private static String shorten(String s) {
        if (s == null) {
            return "";
        }
        String oneLine = s.replaceAll("[\\r\\n\\t]+", " ");
        return oneLine.length() > 80 ? oneLine.substring(0, 80) + "..." : oneLine;
    }
}
