package io.portcullis.gateway.admin;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/**
 * Spellings of admin paths: the plain ones, and those that a check on the raw path misses while the router takes
 * them for an admin route (percent-encoded letters, {@code ;params}) or might in another version (encoded slashes
 * and dots, double slashes, dot segments, a trailing slash, other cases, double encoding), with a query or a
 * fragment. Sent as written by the JDK's HTTP client (it sends the raw path, and never the fragment).
 */
public final class AdminPathSpellings {

    /** Spellings of the read routes ({@code GET /admin/pending}, {@code /admin/rules}, {@code /admin/listeners}). */
    public static final List<String> READS = List.of(
            "/admin", "/admin/", "/admin/pending", "/admin/rules", "/admin/listeners",
            "/%61dmin/pending", "/%61%64%6D%69%6E/listeners", "/%41dmin/pending", "/adm%69n/rules",
            "/admin%2Fpending", "/admin%2fpending", "/%2Fadmin/pending", "/%2561dmin/pending", "/admin%252Fpending",
            "/admin;x/pending", "/admin;/listeners", "/admin/pending;x", "/admin;a=b/rules;c=d", "/;/admin/pending",
            "//admin/pending", "/admin//pending", "///admin/listeners",
            "/./admin/pending", "/admin/./pending", "/admin/../admin/pending", "/x/../admin/pending",
            "/%2e/admin/pending", "/admin/%2e%2e/admin/pending", "/admin/pending/.", "/admin/pending/",
            "/ADMIN/pending", "/Admin/Pending", "/admin/PENDING",
            "/admin/pending?x=1", "/%61dmin/pending?token=x", "/admin/pending#frag", "/%61dmin/listeners#x",
            "/actuator/health/../../admin/pending", "/actuator/../admin/pending", "/actuator/health%2F..%2F..%2Fadmin/pending",
            "/actuator/%2e%2e/admin/pending");

    /** Spellings of {@code POST /admin/pending/{id}}. */
    public static List<String> completions(String id) {
        String encodedId = id.chars().mapToObj(c -> String.format("%%%02X", c)).reduce("", String::concat);
        return List.of(
                "/admin/pending/" + id, "/%61dmin/pending/" + id, "/admin/%70ending/" + id, "/admin/pending/" + encodedId,
                "/admin;x/pending/" + id, "/admin/pending;x/" + id, "/admin/pending/" + id + ";x",
                "//admin/pending/" + id, "/admin//pending/" + id, "/admin/pending/" + id + "/",
                "/./admin/pending/" + id, "/admin/../admin/pending/" + id, "/ADMIN/pending/" + id,
                "/%2561dmin/pending/" + id, "/admin%2Fpending%2F" + id, "/admin/pending/" + id + "?x=1");
    }

    /** Every method: HEAD and OPTIONS too, which a router may answer for a route without calling its handler. */
    public static final List<String> METHODS = List.of("GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH");

    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private AdminPathSpellings() {
    }

    /** {@code method path} on 127.0.0.1:{@code port}, with {@code Authorization: authorization} unless null. */
    public static HttpResponse<String> send(int port, String method, String path, String authorization, String json)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) {
            request.header("Content-Type", "application/json");
        }
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
