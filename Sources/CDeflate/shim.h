#ifndef HANDOVER_CDEFLATE_SHIM_H
#define HANDOVER_CDEFLATE_SHIM_H
#include <libdeflate.h>
#endif
