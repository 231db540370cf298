/**
 * Addresses and address sets: {@link io.portcullis.policy.net.Cidr} parses one IPv4/IPv6 address or
 * CIDR literal (never a host name, never DNS), {@link io.portcullis.policy.net.CidrSet} holds many of
 * them as merged sorted ranges and answers membership without allocating.
 */
package io.portcullis.policy.net;
