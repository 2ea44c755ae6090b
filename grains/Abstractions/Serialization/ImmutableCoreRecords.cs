using System.Collections.Concurrent;
using System.Reflection;
using Orleans.Serialization.Cloning;

namespace DeviceTrust.Grains.Serialization;

/// <summary>
/// Which domain records from core/ a grain call may pass by reference instead of copying. Orleans copies the
/// arguments and results of every call inside one process (a co-hosted gateway's calls to its own silo are all
/// such calls), and it copied our records through System.Text.Json: a device's record, with its collected-data
/// history, was written out and read back twice per authentication, 8 % of the gateway's CPU in a login storm.
/// A record qualifies only if nothing in it can change once it is built: a sealed type whose every field is
/// read-only (<c>init</c> properties are), holding only values of this kind — primitives, enums, strings, times,
/// ids, other qualifying records, and read-only collections or arrays of them. Two conventions are trusted, and
/// kept by core/: a read-only collection is not changed by whoever built it, and a byte array in a record (a key, a
/// certificate, a challenge) is never written after the record is made.
/// </summary>
public static class ImmutableCoreRecords
{
    private static readonly ConcurrentDictionary<Type, bool> Verdicts = new();

    private static readonly HashSet<Type> Values =
    [
        typeof(string), typeof(decimal), typeof(DateTime), typeof(DateTimeOffset), typeof(TimeSpan), typeof(Guid), typeof(DateOnly), typeof(TimeOnly),
    ];

    private static readonly HashSet<Type> ReadOnlyCollections =
    [
        // Not IEnumerable<>: it may be a lazy query over its maker's state, evaluated by whoever reads it later.
        typeof(IReadOnlyList<>), typeof(IReadOnlyCollection<>), typeof(IReadOnlyDictionary<,>), typeof(IReadOnlySet<>),
        typeof(Nullable<>), typeof(KeyValuePair<,>),
    ];

    /// <summary>True for a record from core/ that <see cref="ByReferenceCopier"/> passes on as it is.</summary>
    public static bool Contains(Type type) => IsCoreRecord(type) && IsImmutable(type, []);

    private static bool IsCoreRecord(Type type) =>
        type.Namespace?.StartsWith("DeviceTrust.Core", StringComparison.Ordinal) == true && !typeof(Exception).IsAssignableFrom(type);

    private static bool IsImmutable(Type type, HashSet<Type> visiting)
    {
        if (type.IsPrimitive || type.IsEnum || Values.Contains(type))
        {
            return true;
        }
        if (type.IsSZArray)
        {
            return IsImmutable(type.GetElementType()!, visiting);
        }
        if (type.IsConstructedGenericType && ReadOnlyCollections.Contains(type.GetGenericTypeDefinition()))
        {
            return type.GetGenericArguments().All(argument => IsImmutable(argument, visiting));
        }
        if (!IsCoreRecord(type) || !(type.IsSealed || type.IsValueType))
        {
            return false;
        }
        if (Verdicts.TryGetValue(type, out var known))
        {
            return known;
        }
        // A record that refers to itself (a tree) is immutable if the rest of it is.
        if (!visiting.Add(type))
        {
            return true;
        }
        var verdict = type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .All(field => field.IsInitOnly && IsImmutable(field.FieldType, visiting));
        visiting.Remove(type);
        return Verdicts.GetOrAdd(type, verdict);
    }

    /// <summary>The copier Orleans asks first for these records: it returns what it is given.</summary>
    public sealed class ByReferenceCopier : IGeneralizedCopier, IOptionalDeepCopier
    {
        public bool IsSupportedType(Type type) => Contains(type);

        public bool IsShallowCopyable() => true;

        public object? DeepCopy(object? input, CopyContext context) => input;
    }
}
