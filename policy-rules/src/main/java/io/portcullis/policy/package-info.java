/**
 * The policy language of Portcullis ({@code rules.yaml}). Start with {@link io.portcullis.policy.Policy}
 * (load and compile a file with its list files, given {@link io.portcullis.policy.PolicyOptions}),
 * {@link io.portcullis.policy.ListenerPolicy} (the ordered rules of one listener) and
 * {@link io.portcullis.policy.PolicyEngine} (the current policy, swapped atomically on reload; shadow rules
 * report to a {@link io.portcullis.policy.ShadowObserver}). {@link io.portcullis.policy.Validate} checks
 * files from the command line. Sub-packages: {@code model} (request, verdict, permit), {@code rule}
 * (compiled rules, conditions, the custom-condition SPI), {@code limit} (rate and concurrency limits and
 * the registry that keeps their state across reloads), {@code net} (address sets), {@code yaml} (reading
 * and validation with file:line:column errors).
 */
package io.portcullis.policy;
