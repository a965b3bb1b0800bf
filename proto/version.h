/*
 * The version every capsem program reports (--version, the agent's
 * `ready`).  One number for the whole tree: the programs are built and
 * installed together.
 */
#ifndef CAPSEM_VERSION_H
#define CAPSEM_VERSION_H

#define CAPSEM_VERSION		"0.6.0"

#endif
