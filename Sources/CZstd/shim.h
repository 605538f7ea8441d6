// libzstd (Debian: libzstd-dev), used only by fleet-bench to time zstd's decoder in-process.
#include <zstd.h>
