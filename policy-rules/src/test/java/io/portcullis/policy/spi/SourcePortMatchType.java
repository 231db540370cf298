package io.portcullis.policy.spi;

import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.MatchType;
import io.portcullis.policy.rule.MatchValue;
import io.portcullis.policy.rule.MatchValueException;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Example custom condition, registered in {@code META-INF/services/io.portcullis.policy.rule.MatchType}:
 * {@code source-port: ["1-1023", 2049]} matches the client's own port (e.g. old r-services that
 * require privileged client ports).
 */
public final class SourcePortMatchType implements MatchType {

    private static final Pattern RANGE = Pattern.compile("(\\d{1,5})(?:-(\\d{1,5}))?");

    @Override
    public String key() {
        return "source-port";
    }

    @Override
    public Match parse(MatchValue value) throws MatchValueException {
        List<MatchValue> items = value.asList();
        if (items.isEmpty()) {
            throw value.problem("empty 'source-port' list");
        }
        int[] first = new int[items.size()];
        int[] last = new int[items.size()];
        for (int i = 0; i < items.size(); i++) {
            MatchValue item = items.get(i);
            String text = item.asString();
            Matcher m = RANGE.matcher(text);
            if (!m.matches()) {
                throw item.problem("bad source port '" + text + "' (expected a port or a range like 1-1023)");
            }
            first[i] = Integer.parseInt(m.group(1));
            last[i] = m.group(2) == null ? first[i] : Integer.parseInt(m.group(2));
            if (last[i] > 65535 || first[i] > last[i]) {
                throw item.problem("bad source port '" + text + "' (expected a port or a range like 1-1023)");
            }
        }
        return new SourcePortMatch(first, last);
    }

    private record SourcePortMatch(int[] first, int[] last) implements Match {

        @Override
        public boolean matches(InspectRequest request, byte[] sourceAddress) {
            int port = request.source().getPort();
            for (int i = 0; i < first.length; i++) {
                if (port >= first[i] && port <= last[i]) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public String key() {
            return "source-port";
        }
    }
}
