// zlib (Debian zlib1g-dev, which libpng-dev brings): raw deflate for the .npz files that
// numpy's savez_compressed writes (pytorch-fid's --save-stats).
#include <zlib.h>
