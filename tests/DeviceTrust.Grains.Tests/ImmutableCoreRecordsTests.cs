using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Fakes;
using DeviceTrust.Grains.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace DeviceTrust.Grains.Tests
{
    /// <summary>Which core records grain calls in one process pass by reference, through Orleans' own copier.</summary>
    public sealed class ImmutableCoreRecordsTests
    {
        private static readonly DeepCopier Copier = new ServiceCollection()
            .AddSerializer(serializer => serializer.AddDeviceTrustCoreTypes())
            .BuildServiceProvider()
            .GetRequiredService<DeepCopier>();

        private static DeviceRecord Device() =>
            DeviceRecord.New(Guid.NewGuid(), OsType.Linux, "LT0001", DeviceSource.Api, "admin", "", DateTimeOffset.UtcNow) with
            {
                Users = [new DeviceUser(Guid.NewGuid().ToString(), "bob")],
            };

        [Fact]
        public void A_device_record_and_what_it_holds_pass_by_reference()
        {
            var device = Device();
            Assert.Same(device, Copier.Copy(device));
            Assert.Same(device.Users[0], Copier.Copy(device.Users[0]));
            Assert.True(ImmutableCoreRecords.Contains(typeof(CollectedData)));
            Assert.True(ImmutableCoreRecords.Contains(typeof(DeviceCredential)));
        }

        [Fact]
        public void A_core_type_that_can_change_is_still_copied()
        {
            var mutable = new MutableCounter { Count = 3 };
            var copy = Copier.Copy(mutable);
            Assert.NotSame(mutable, copy);
            Assert.Equal(3, copy.Count);
            Assert.False(ImmutableCoreRecords.Contains(typeof(MutableCounter)));
            Assert.False(ImmutableCoreRecords.Contains(typeof(RecordWithList)));
            Assert.False(ImmutableCoreRecords.Contains(typeof(UnsealedRecord)));
            Assert.False(ImmutableCoreRecords.Contains(typeof(RecordWithLazyItems)));
            var listed = new RecordWithList([1, 2]);
            Assert.NotSame(listed, Copier.Copy(listed));
        }

        [Fact]
        public void Types_outside_core_are_not_its_business()
        {
            Assert.False(ImmutableCoreRecords.Contains(typeof(string)));
            Assert.False(ImmutableCoreRecords.Contains(typeof(ImmutableCoreRecordsTests)));
        }
    }
}

namespace DeviceTrust.Core.Fakes
{
    // In a DeviceTrust.Core namespace, as the copier's rule reads namespaces: each breaks one condition.
    public sealed class MutableCounter
    {
        public int Count { get; set; }
    }

    public sealed record RecordWithList(List<int> Items);

    public record UnsealedRecord(int Value);

    public sealed record RecordWithLazyItems(IEnumerable<int> Items);
}
