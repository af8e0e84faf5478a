// placeholder: filled by issue 21 work
#include <gtest/gtest.h>
