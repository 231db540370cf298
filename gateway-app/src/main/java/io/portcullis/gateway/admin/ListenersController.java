package io.portcullis.gateway.admin;

import io.portcullis.gateway.Gateway;
import io.portcullis.core.Listener;
import io.portcullis.core.ListenerSettings;
import io.portcullis.core.PeekSettings;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.springframework.context.annotation.Conditional;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /admin/listeners}: each listener's address, mode and pended load. */
@RestController
@Conditional(AdminApiCondition.class)
@RequestMapping(AdminTokenFilter.PREFIX + "/listeners")
public class ListenersController {

    private final Gateway gateway;

    public ListenersController(Gateway gateway) {
        this.gateway = gateway;
    }

    @GetMapping
    public List<Map<String, Object>> listeners() {
        return gateway.listeners().stream().map(ListenersController::describe).toList();
    }

    private static Map<String, Object> describe(Listener listener) {
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
        return m;
    }
}
