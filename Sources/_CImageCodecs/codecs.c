#include "_CImageCodecs.h"
