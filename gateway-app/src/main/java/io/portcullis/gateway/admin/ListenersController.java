package io.portcullis.gateway.admin;

import io.portcullis.gateway.Gateway;
import io.portcullis.core.Listener;
import io.portcullis.core.ListenerSettings;
import io.portcullis.core.PeekSettings;
import io.portcullis.core.SourceFilterState;
import io.portcullis.gateway.policy.LiveEnforcement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import org.springframework.context.annotation.Conditional;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /admin/listeners}: each listener's address, mode, pended load, early reject and recheck. */
@RestController
@Conditional(AdminApiCondition.class)
@RequestMapping(AdminTokenFilter.PREFIX + "/listeners")
public class ListenersController {

    private final Gateway gateway;
    private final LiveEnforcement enforcement;

    public ListenersController(Gateway gateway, LiveEnforcement enforcement) {
        this.gateway = gateway;
        this.enforcement = enforcement;
    }

    @GetMapping
    public List<Map<String, Object>> listeners() {
        return gateway.listeners().stream().map(this::describe).toList();
    }

    private Map<String, Object> describe(Listener listener) {
        ListenerSettings s = listener.settings();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", s.name());
        m.put("address", listener.localAddress().getAddress().getHostAddress() + ":" + listener.localAddress().getPort());
        m.put("conditionalAccept", s.conditionalAccept());
        m.put("pending", listener.pendingCount());
        m.put("maxPending", s.maxPending());
        m.put("inspectTimeoutMillis", s.inspectTimeout().toMillis());
        m.put("onTimeout", s.onTimeout().label());
        m.put("onOverflow", s.onOverflow().label());
        PeekSettings peek = s.peek();
        m.put("proxyProtocol", peek.proxyProtocol().name().toLowerCase(Locale.ROOT));
        m.put("peekTls", peek.tls());
        m.put("earlyReject", enforcement.earlyReject(s.name()).map(ListenersController::earlyReject)
                .orElse(Map.of("mode", "off")));
        m.put("recheckOnReload", enforcement.recheckMode(s.name()).label());
        // As portcullis_listen_drops_total: null where the transport cannot tell (nio).
        OptionalLong drops = listener.kernelDrops();
        m.put("kernelDrops", drops.isPresent() ? drops.getAsLong() : null);
        return m;
    }

    private static Map<String, Object> earlyReject(LiveEnforcement.EarlyReject e) {
        SourceFilterState filter = e.filter();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mode", "kernel");
        m.put("attached", filter.attached());
        m.put("ranges", filter.ranges());
        m.put("rangesAsked", filter.rangesAsked());
        m.put("instructions", filter.instructions());
        m.put("rules", e.rules());
        m.put("userSpace", e.userSpace());
        m.put("problem", filter.problem().orElse(null));
        return m;
    }
}
