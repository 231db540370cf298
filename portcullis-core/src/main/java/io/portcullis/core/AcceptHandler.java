package io.portcullis.core;

/**
 * Takes accepted connections (WSK's {@code WskAcceptEvent}, push accept).
 *
 * <p>Called on the connection's event loop: it must not block. The handler owns the connection from
 * then on. Returning false refuses it (WSK's {@code STATUS_REQUEST_NOT_ACCEPTED}, e.g. out of
 * resources): the listener closes the connection and counts it.
 */
@FunctionalInterface
public interface AcceptHandler {

    boolean accepted(AcceptedConnection connection);
}
