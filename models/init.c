/* init.c — (being written) */
#include "../autograd/internal.h"
