package io.portcullis.gateway.listener;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

/**
 * Decides a connection before it is accepted (WSK's {@code WskInspectEvent}).
 *
 * <p>Called once per connection, on that connection's event loop: it must not block. Answer
 * {@link InspectAction#PEND} to decide later through {@link Listener#inspectComplete}. An exception
 * thrown here rejects the connection.
 */
@FunctionalInterface
public interface InspectHandler {

    InspectAction inspect(InspectRequest request);

    /**
     * The full answer, which the listener asks for: the action, plus for PEND an optional deadline that
     * overrides the listener's {@code inspect.timeout}, and a permit the listener releases when the
     * connection closes. By default the action of {@link #inspect} with nothing else. Same thread rules.
     */
    default Verdict verdict(InspectRequest request) {
        InspectAction action = inspect(request);
        return action == null ? null : HandlerVerdicts.of(action);
    }

    /**
     * The connection this handler inspected has closed, whatever its outcome; called exactly once per
     * {@link #inspect} call, on the connection's event loop, so resources tied to the connection (a
     * concurrency permit, say) can be given back. Does nothing by default.
     */
    default void connectionClosed(InspectRequest request) {
    }
}
