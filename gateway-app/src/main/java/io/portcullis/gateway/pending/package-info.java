/**
 * Pended inspections as operators see and complete them, apart from how they ask: {@link
 * io.portcullis.gateway.pending.PendingEntry} is one line of {@code GET /admin/pending} (of this replica, or of
 * another in the cluster view), {@link io.portcullis.gateway.pending.OperatorCompletion} is what
 * {@code POST /admin/pending/{id}} does, whether the operator asked this replica or another one relayed it.
 * No Spring here: the admin controller and the cluster relay both use it.
 */
package io.portcullis.gateway.pending;
