package io.portcullis.reliability;

/** One attack on the whole gateway process; each scenario starts and stops what it needs. */
interface Scenario {

    /** Short name, used in the table. */
    String name();

    /** Runs the scenario; every wait inside has a deadline. */
    Result run(Env env) throws Exception;
}
