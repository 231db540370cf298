/**
 * Reading {@code rules.yaml}: {@link io.portcullis.policy.yaml.PolicyFile} reads the bytes (bounded,
 * strict UTF-8), {@code YamlComposer} turns them into SnakeYAML nodes (no objects are constructed, so
 * no tag can instantiate a class; aliases and nesting bounded), and
 * {@link io.portcullis.policy.yaml.PolicyParser} walks the nodes section by section — lists (list files
 * through {@code ListFile}, without YAML), listeners, rules, one parser per rule condition and per limiter —
 * collecting every problem with its file:line:column. Only a policy that validated completely is linked
 * to limiter state.
 */
package io.portcullis.policy.yaml;
