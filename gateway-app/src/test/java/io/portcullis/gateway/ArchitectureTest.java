package io.portcullis.gateway;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Netty and policy code must not depend on Spring: Spring only wires it (DESIGN.md, Layout). */
class ArchitectureTest {

    private static JavaClasses classes;

    @BeforeAll
    static void load() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.portcullis");
    }

    @Test
    void nettyPackagesDoNotUseSpring() {
        noClasses().that().resideInAnyPackage(
                        "io.portcullis.gateway.listener..", "io.portcullis.gateway.proxy..",
                        "io.portcullis.gateway.demo..", "io.portcullis.gateway.metrics..",
                        "io.portcullis.gateway.policy..", "io.portcullis.gateway.decision..")
                .should().dependOnClassesThat().resideInAnyPackage("org.springframework..")
                .check(classes);
    }

    @Test
    void policyRulesUsesNeitherSpringNorNetty() {
        noClasses().that().resideInAPackage("io.portcullis.policy..")
                .should().dependOnClassesThat().resideInAnyPackage("org.springframework..", "io.netty..")
                .check(classes);
    }

    @Test
    void listenerCoreDoesNotKnowTheRelayOrTheMeters() {
        noClasses().that().resideInAPackage("io.portcullis.gateway.listener..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "io.portcullis.gateway.proxy..", "io.portcullis.gateway.metrics..", "io.micrometer..")
                .check(classes);
    }
}
