/* params.c — (being written) */
#include "../autograd/internal.h"
