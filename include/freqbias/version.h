/* freqbias/version.h — the release version and build profile. */
#ifndef FREQBIAS_VERSION_H
#define FREQBIAS_VERSION_H

#define FB_VERSION "0.1.0"

#ifndef FB_PROFILE
#define FB_PROFILE "unknown"
#endif

#endif
