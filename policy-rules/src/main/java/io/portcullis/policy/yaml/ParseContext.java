package io.portcullis.policy.yaml;

import java.util.Map;

/**
 * What the parsers of one file share: the problem collector and the address lists defined in
 * the {@code lists} section (by name, in file order). One per parse; not thread-safe.
 */
record ParseContext(Problems problems, Map<String, NamedList> lists) {
}
