// Stepwise plugin ABI, version 1.1 — include this one header.
// See sdk/README.md for how to write, build and install a plugin, and sdk/CHANGELOG.md
// for what each minor version added.
#ifndef STEPWISE_STEPWISE_H
#define STEPWISE_STEPWISE_H
#include "plugin.h"
#endif
