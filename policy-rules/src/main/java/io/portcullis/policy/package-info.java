/**
 * The policy language of Portcullis ({@code rules.yaml}). Start with {@link io.portcullis.policy.Policy}
 * (load and compile a file), {@link io.portcullis.policy.ListenerPolicy} (the ordered rules of one
 * listener) and {@link io.portcullis.policy.PolicyEngine} (the current policy, swapped atomically on
 * reload). Sub-packages: {@code model} (request and verdict), {@code rule} (compiled rules),
 * {@code net} (address sets), {@code yaml} (reading and validation with file:line:column errors).
 */
package io.portcullis.policy;
