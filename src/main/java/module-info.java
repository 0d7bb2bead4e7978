/**
 * gemshrink: shmem-backed GPU buffer objects and the reclaim of their memory, modelled on Linux DRM.
 */
module dev.gemshrink {
    requires org.slf4j;
    requires jdk.jfr;
    requires java.management;
    requires static info.picocli;

    exports dev.gemshrink;
    exports dev.gemshrink.core;
    exports dev.gemshrink.memory;
    exports dev.gemshrink.locking;
    exports dev.gemshrink.checking;
    exports dev.gemshrink.reclaim;
    exports dev.gemshrink.panfrost;
    exports dev.gemshrink.panthor;
    exports dev.gemshrink.stats;
    exports dev.gemshrink.sim;

    // The command line tool's options are read and set by picocli by reflection.
    opens dev.gemshrink.cli to info.picocli;
}
