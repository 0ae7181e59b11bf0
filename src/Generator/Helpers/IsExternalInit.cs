// Lets netstandard2.0 use records and init accessors.
namespace System.Runtime.CompilerServices;

internal static class IsExternalInit
{
}
