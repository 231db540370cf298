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

    /**
     * Takes a connection that passed inspection.
     *
     * @param connection the connection, its auto-read off and its early bytes held for {@link
     *                   AcceptedConnection#takeEarlyData()}
     * @return true when taken; false to refuse it (it is closed and counted)
     */
    boolean accepted(AcceptedConnection connection);
}
