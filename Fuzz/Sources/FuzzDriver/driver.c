// The header is the point of this target; C targets need one source file.
#include "FuzzDriver.h"
