package io.portcullis.gateway.listener;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;

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
}
