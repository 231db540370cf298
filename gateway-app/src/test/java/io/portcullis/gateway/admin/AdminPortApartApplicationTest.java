package io.portcullis.gateway.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portcullis.gateway.testing.GatewayUnderTest;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layout the chart and compose use: health and metrics on {@code management.server.port}, the admin API on
 * {@code server.port} bound by {@code server.address} to 127.0.0.1. Neither port serves the other's routes.
 */
class AdminPortApartApplicationTest {

    private static final String TOKEN = "apart-admin-token-0123";
    @AutoClose
    private static GatewayUnderTest gateway;
    private static int adminPort;
    private static int managementPort;

    @BeforeAll
    static void start() throws Exception {
        gateway = new GatewayUnderTest().demo().properties(
                "server.address=127.0.0.1",
                "management.server.port=0",
                "portcullis.admin.token=" + TOKEN,
                "portcullis.worker-threads=2").start();
        adminPort = gateway.serverPort();
        managementPort = gateway.managementPort();
    }

    @Test
    void healthAndMetricsOnTheManagementPortOnEveryInterface() throws Exception {
        assertThat(managementPort).isNotEqualTo(adminPort);
        for (String host : new String[] {"127.0.0.1", "127.0.0.2"}) {
            assertThat(get(host, managementPort, "/actuator/health/liveness", null).statusCode()).as(host).isEqualTo(200);
            assertThat(get(host, managementPort, "/actuator/prometheus", null).body()).as(host).contains("portcullis_");
        }
    }

    @Test
    void theManagementPortHasNoAdminApi() throws Exception {
        assertThat(get("127.0.0.1", managementPort, "/admin/pending", null).statusCode()).isEqualTo(401);
        assertThat(get("127.0.0.1", managementPort, "/admin/pending", TOKEN).statusCode()).isEqualTo(404);
        assertThat(get("127.0.0.1", managementPort, "/%61dmin/pending", TOKEN).statusCode())
                .as("an ambiguous spelling, refused on every port").isEqualTo(400);
    }

    @Test
    void theAdminApiOnItsOwnPortOnLoopbackOnly() throws Exception {
        assertThat(get("127.0.0.1", adminPort, "/admin/pending", TOKEN).statusCode()).isEqualTo(200);
        assertThat(get("127.0.0.1", adminPort, "/admin/pending", null).statusCode()).isEqualTo(401);
        assertThat(get("127.0.0.1", adminPort, "/%61dmin/pending", null).statusCode()).isEqualTo(401);
        assertThat(get("127.0.0.1", adminPort, "/actuator/health", null).statusCode()).as("health is elsewhere").isEqualTo(404);
        assertThatThrownBy(() -> get("127.0.0.2", adminPort, "/admin/pending", TOKEN))
                .as("server.address=127.0.0.1: nothing listens on 127.0.0.2").isInstanceOf(ConnectException.class);
    }

    private static HttpResponse<String> get(String host, int port, String path, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://" + host + ":" + port + path))
                .timeout(Duration.ofSeconds(10));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
                .send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
